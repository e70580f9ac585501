//! What the loop does with a complete request: the seam between the
//! readiness loop (all socket I/O) and whoever runs the app.
//!
//! Part 3 runs the app right here, on the loop thread ([`Inline`]): simple
//! and fast, until an app is slow. Part 4 plugs in a worker pool behind
//! the same trait, and the loop does not change.

use std::sync::Arc;
use std::time::Duration;

use mio::Waker;
use part2_gateway::environ::ServerInfo;
use part2_gateway::exchange::{Exchange, respond};
use part2_gateway::gateway::SharedApp;
use part2_gateway::request::RequestHead;
use part2_gateway::response::RequestFacts;

use crate::connection::ConnId;
use crate::spool::RequestBody;
use crate::trace::Tracer;

/// A complete request: its head, its whole decoded body, and who sent it.
#[derive(Debug)]
pub struct Request {
    /// The parsed head, shared with the connection (for its log line).
    pub head: Arc<RequestHead>,
    /// The body, decoded and complete (within the body limit): in
    /// memory, or in a temporary file when it is large.
    pub body: RequestBody,
    /// Addresses for the environ.
    pub info: ServerInfo,
}

/// How far a response's producer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More bytes will follow; ask again when these are written.
    More,
    /// The response is complete.
    Done,
    /// Nothing available yet: another thread is still producing it and
    /// will wake the loop.
    Pending,
}

/// A response the loop writes as its producer hands it bytes.
pub trait Output: Send {
    /// Appends up to about `want` bytes to `out`.
    fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> Progress;
    /// Whether the connection may carry another request afterwards.
    fn keep_alive(&self) -> bool;
    /// The status sent, for the log.
    fn status(&self) -> u16;
    /// Body bytes produced, for the log.
    fn body_bytes(&self) -> u64;
    /// What went wrong, if anything, for the log.
    fn problem(&self) -> Option<String>;
    /// The server will close after this response: say so in the head if
    /// it has not gone out yet (RFC 9112 §9.6).
    fn close_after(&mut self) {}
}

/// Part 2's exchange is an output that is never pending: the app's body
/// is pulled right here.
impl Output for Exchange {
    fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> Progress {
        if Exchange::fill(self, out, want) {
            Progress::More
        } else {
            Progress::Done
        }
    }

    fn keep_alive(&self) -> bool {
        Exchange::keep_alive(self)
    }

    fn status(&self) -> u16 {
        Exchange::status(self)
    }

    fn body_bytes(&self) -> u64 {
        Exchange::body_bytes(self)
    }

    fn problem(&self) -> Option<String> {
        Exchange::problem(self).map(str::to_string)
    }

    fn close_after(&mut self) {
        Exchange::close_after(self);
    }
}

// ANCHOR: dispatch
/// Runs complete requests. The loop calls it from its one thread.
pub trait Dispatch {
    /// Called once at start with the waker that interrupts the loop's
    /// `poll`, for output made on other threads.
    fn attach(&mut self, waker: Arc<Waker>) {
        let _ = waker;
    }

    /// Called once at start with `--trace`: where the dispatcher writes
    /// trace lines of its own.
    fn trace_to(&mut self, tracer: Tracer) {
        let _ = tracer;
    }

    /// Starts the response to `request` from connection `id`.
    fn dispatch(&mut self, id: ConnId, request: Request) -> Box<dyn Output>;

    /// Once per turn, before the ready connections are driven: adds the
    /// connections whose pending output has news.
    fn woken(&mut self, ready: &mut Vec<ConnId>) {
        let _ = ready;
    }

    /// Once per turn, after every ready connection was driven: how soon
    /// the loop must come back even if no event arrives.
    fn turn_end(&mut self) -> Option<Duration> {
        None
    }

    /// While the loop drains: whether work it must wait for still runs
    /// elsewhere.
    fn busy(&self) -> bool {
        false
    }

    /// May hand the loop a used head to parse the next request into.
    fn spare_head(&mut self) -> Option<RequestHead> {
        None
    }

    /// Takes back the head of a request whose response is over.
    fn recycle_head(&mut self, head: Arc<RequestHead>) {
        let _ = head;
    }

    /// Whether a read that fills less than the buffer may be taken for
    /// `WouldBlock`, saving a read per request (epoll and kqueue only).
    fn short_reads(&self) -> bool {
        false
    }
}
// ANCHOR_END: dispatch

// ANCHOR: inline
/// Part 3's dispatcher: runs the app on the loop thread, right away.
///
/// While the app runs, no other connection is served. That is fine for
/// an app that answers in microseconds, and the whole problem for one
/// that sleeps: see the `sleep` app and part 4.
pub struct Inline {
    app: SharedApp,
}

impl Inline {
    /// Runs `app` inline.
    pub fn new(app: SharedApp) -> Self {
        Inline { app }
    }
}

impl Dispatch for Inline {
    fn dispatch(&mut self, _id: ConnId, request: Request) -> Box<dyn Output> {
        let Request { head, body, info } = request;
        // The body is already whole, in memory or in its file, so the app
        // can never block the loop waiting for the client.
        let mut environ = body.environ(&head, &info);
        Box::new(respond(&*self.app, &mut environ, RequestFacts::of(&head)))
    }
}
// ANCHOR_END: inline
