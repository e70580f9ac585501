//! What the loop does with a complete request: the seam between the
//! readiness loop (all socket I/O) and whoever runs the app.
//!
//! Part 3 runs the app right here, on the loop thread ([`Inline`]): simple
//! and fast, until an app is slow. Part 4 plugs in a worker pool behind
//! the same trait, and the loop does not change.

use std::sync::Arc;
use std::time::Duration;

use mio::Waker;
use part2_gateway::environ::{Environ, ServerInfo};
use part2_gateway::exchange::{Exchange, respond};
use part2_gateway::gateway::SharedApp;
use part2_gateway::request::RequestHead;
use part2_gateway::response::RequestFacts;

use crate::timer::ConnId;

/// A complete request: its head, its whole decoded body, and who sent it.
#[derive(Debug)]
pub struct Request {
    /// The parsed head, shared with the connection (for its log line).
    pub head: Arc<RequestHead>,
    /// The body, decoded and complete (within the body limit).
    pub body: Vec<u8>,
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
}

/// Runs complete requests. The loop calls it from its one thread.
pub trait Dispatch {
    /// Called once at start with the loop's waker, for dispatchers whose
    /// outputs are produced elsewhere and must wake the loop.
    fn attach(&mut self, waker: Arc<Waker>) {
        let _ = waker;
    }

    /// Starts the response to `request` for connection `id`.
    fn dispatch(&mut self, id: ConnId, request: Request) -> Box<dyn Output>;

    /// Once per loop turn: appends the connections whose pending output
    /// has news. The default has none.
    fn woken(&mut self, ready: &mut Vec<ConnId>) {
        let _ = ready;
    }

    /// Called once per loop turn, after every ready connection has been
    /// driven. A dispatcher that hands work to other threads can gather
    /// the turn's requests and pass them on here in one go (part 4 does,
    /// to wake its workers once per turn rather than once per request).
    ///
    /// Returns how soon the loop should come back, even if no event
    /// arrives, to call it again (part 4 watches for jobs that wait too
    /// long). The default has nothing to do, and no such deadline.
    fn turn_end(&mut self) -> Option<Duration> {
        None
    }

    /// Whether work is still running elsewhere (part 4's workers); the
    /// loop waits for it before a graceful exit.
    fn busy(&self) -> bool {
        false
    }
}

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
        // The body is already whole, so `wsgi.input` is a cursor over it:
        // the app can never block the loop by reading.
        let mut environ = Environ::with_body(&head, &info, body);
        Box::new(respond(&*self.app, &mut environ, RequestFacts::of(&head)))
    }
}
// ANCHOR_END: inline
