//! `Threaded`: part 3's dispatch seam, filled with a worker pool.
//!
//! The loop of part 3 still does every read and write. When a request is
//! complete it calls [`Dispatch::dispatch`]; here that queues one job on
//! the [`Pool`] and returns at once with a reply that has nothing yet. A
//! worker runs the app and puts the response, piece by piece, in the
//! request's mailbox. When a mailbox goes from empty to not empty, the
//! worker names its connection in a ready list and wakes the loop, which
//! collects the names ([`Dispatch::woken`]) and writes the bytes as the
//! sockets allow. Otherwise the loop sleeps: nothing here asks it to
//! come back at a set time.
//!
//! ```text
//!   loop thread                             worker thread
//!   ───────────                             ─────────────
//!   dispatch(request) ────── job ─────────▶ app(environ) → exchange
//!     (queue full: 503)                     exchange.fill(piece)
//!   fill() → Pending                        mailbox was empty:
//!   poll() … asleep                           ready.push(id), wake()
//!   woken() ◀──────────── wake-up ──────────┘
//!   fill() → the bytes: write them          next piece …
//!                                           256 KiB unwritten: park
//!   fill() took the bytes:
//!     pool.execute(parked) ───── job ─────▶ exchange.fill(piece) …
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use mio::Waker;
use part2_gateway::environ::Environ;
use part2_gateway::error::HttpError;
use part2_gateway::exchange::{Exchange, respond};
use part2_gateway::gateway::{App, Body, SharedApp, StartResponse};
use part2_gateway::response::{RequestFacts, write_error};
use part3_selectors::connection::ConnId;
use part3_selectors::dispatch::{Dispatch, Output, Progress, Request};
use part3_selectors::trace::Tracer;

use crate::pool::{Job, Pool, lock};

/// How many bytes a worker makes at a time: the loop's write chunk.
const PIECE: usize = 64 * 1024;

/// How far a response may get ahead of its client before its job parks:
/// a response is never held whole in memory, only about this much.
const AHEAD: usize = 4 * PIECE;

// ANCHOR: threaded
/// Runs each request's app on a worker of a [`Pool`].
///
/// The pool is shared (`Arc`) so that `main` can keep it after the loop
/// is gone: the connections go first, dropping the jobs parked on them,
/// then the workers are joined. Each reply holds the pool too, to resume
/// its parked job.
pub struct Threaded {
    app: SharedApp,
    pool: Arc<Pool>,
    shared: Arc<Shared>,
    /// `--trace`: where the jobs' lines go.
    tracer: Option<Tracer>,
}

/// What the loop and the workers share.
struct Shared {
    /// The loop's waker, from [`Dispatch::attach`].
    waker: OnceLock<Arc<Waker>>,
    /// Connections whose mailbox has news since the loop last looked.
    ready: Mutex<Vec<ConnId>>,
    /// Jobs queued, running or parked, for [`Dispatch::busy`].
    in_flight: AtomicUsize,
    /// The loop is shutting down and waits for `in_flight` to be 0.
    draining: AtomicBool,
}

impl Threaded {
    /// Runs `app` on the workers of `pool`.
    pub fn new(app: SharedApp, pool: Arc<Pool>) -> Self {
        let shared = Arc::new(Shared {
            waker: OnceLock::new(),
            ready: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
        });
        Threaded {
            app,
            pool,
            shared,
            tracer: None,
        }
    }

    /// A handle that reports how many jobs are in flight, for tests and
    /// metrics, usable after the dispatcher moved into the loop.
    pub fn monitor(&self) -> Monitor {
        Monitor(Arc::clone(&self.shared))
    }
}

impl Shared {
    fn wake_loop(&self) {
        if let Some(waker) = self.waker.get() {
            // If waking fails the loop is gone, and nobody is waiting.
            let _ = waker.wake();
        }
    }
}
// ANCHOR_END: threaded

// ANCHOR: dispatch
impl Dispatch for Threaded {
    fn attach(&mut self, waker: Arc<Waker>) {
        let _ = self.shared.waker.set(waker);
    }

    fn trace_to(&mut self, tracer: Tracer) {
        self.tracer = Some(tracer);
    }

    fn dispatch(&mut self, id: ConnId, request: Request) -> Box<dyn Output> {
        // Kept for a 503: the job takes the request with it.
        let facts = RequestFacts::of(&request.head);
        let (sender, reply) =
            mailbox(id, &self.shared, &self.pool, &self.tracer);
        let app = Arc::clone(&self.app);
        let job: Job = Box::new(move || serve(&*app, request, sender));
        match self.pool.try_execute(job) {
            Ok(()) => {
                trace_loop(&self.tracer, id, format_args!("job queued"));
                Box::new(reply)
            }
            Err(job) => {
                trace_loop(&self.tracer, id, format_args!("queue full: 503"));
                // Never run: the reply first, so that the job's sender,
                // dropped next, finds nobody to tell.
                drop(reply);
                drop(job);
                queue_full(facts)
            }
        }
    }

    fn woken(&mut self, ready: &mut Vec<ConnId>) {
        let before = ready.len();
        // Every name at once; news after this comes with a new wake-up.
        ready.append(&mut lock(&self.shared.ready));
        trace_woken(&self.tracer, &ready[before..]);
    }

    fn busy(&self) -> bool {
        // Asked while draining, after every turn. Saying yes promises a
        // wake-up when that changes, or the loop would sleep until its
        // shutdown deadline: the flag asks the last job to end for one.
        // SeqCst here and there: either we see that job counted out, or
        // it sees the flag.
        self.shared.draining.store(true, Ordering::SeqCst);
        self.shared.in_flight.load(Ordering::SeqCst) > 0
    }
}
// ANCHOR_END: dispatch

/// Reports on a [`Threaded`] dispatcher from outside the loop.
#[derive(Clone)]
pub struct Monitor(Arc<Shared>);

impl Monitor {
    /// Jobs queued, running or parked right now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }
}

/// A trace line from the loop thread, if `--trace` is on.
pub(crate) fn trace_loop(
    tracer: &Option<Tracer>,
    id: ConnId,
    event: fmt::Arguments<'_>,
) {
    if let Some(tracer) = tracer {
        tracer.loop_line(id, event);
    }
}

/// `loop woken` for each connection the loop was told has news, after
/// what the workers wrote until they told it.
pub(crate) fn trace_woken(tracer: &Option<Tracer>, ids: &[ConnId]) {
    if let Some(tracer) = tracer {
        for id in ids {
            tracer.take_in(*id);
            tracer.loop_line(*id, format_args!("loop woken"));
        }
    }
}

/// The worker a job runs on, by its thread's name (`worker-3` is 3), for
/// `--trace`. Looked up only when a line is printed.
pub(crate) struct Worker;

impl fmt::Display for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let me = thread::current();
        let name = me.name().unwrap_or("?");
        write!(f, "worker {}", name.strip_prefix("worker-").unwrap_or(name))
    }
}

// ANCHOR: mailbox
/// Where one response travels from its worker to the loop: the bytes
/// made and not yet taken, behind a lock each side holds only briefly.
struct Mailbox {
    inbox: Mutex<Inbox>,
    /// The connection, to name in the ready list.
    id: ConnId,
    shared: Arc<Shared>,
    /// `--trace`: where the job's lines go.
    tracer: Option<Tracer>,
}

#[derive(Default)]
struct Inbox {
    /// Bytes made and not yet taken by the loop.
    bytes: Vec<u8>,
    /// How the response went; arrives with its last bytes.
    summary: Option<Summary>,
    /// The job ended before its last bytes: it panicked (or, at exit,
    /// the pool closed before a parked job could go on).
    job_gone: bool,
    /// The loop's end is gone: the connection closed.
    loop_gone: bool,
    /// The loop will close after this response (it is shutting down):
    /// a head not made yet must say `Connection: close`.
    close: bool,
    /// The rest of a job that found `AHEAD` bytes unwritten, waiting for
    /// the loop to take them.
    parked: Option<Job>,
}
// ANCHOR_END: mailbox

// ANCHOR: notify
/// A new mailbox for connection `id`, and its two ends: the job's and
/// the loop's. The job counts as in flight until its end is dropped.
fn mailbox(
    id: ConnId,
    shared: &Arc<Shared>,
    pool: &Arc<Pool>,
    tracer: &Option<Tracer>,
) -> (Sender, Reply) {
    let mailbox = Arc::new(Mailbox {
        inbox: Mutex::new(Inbox::default()),
        id,
        shared: Arc::clone(shared),
        tracer: tracer.clone(),
    });
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let sender = Sender {
        mailbox: Arc::clone(&mailbox),
        done: false,
    };
    let reply = Reply {
        mailbox,
        pool: Arc::clone(pool),
        summary: None,
        started: false,
    };
    (sender, reply)
}

impl Mailbox {
    /// Names the connection in the ready list and wakes the loop, unless
    /// the list had names already: then the loop has been woken and has
    /// not looked yet, and will find this one with the others.
    fn notify(&self) {
        let first = {
            let mut ready = lock(&self.shared.ready);
            ready.push(self.id);
            ready.len() == 1
        };
        if first {
            self.shared.wake_loop();
        }
    }
}
// ANCHOR_END: notify

// ANCHOR: sender
/// A job's end of its mailbox.
struct Sender {
    mailbox: Arc<Mailbox>,
    /// The last bytes are in: the loop needs nothing more from us.
    done: bool,
}

impl Sender {
    /// A trace line about the job, from its worker; the loop is woken to
    /// print it.
    fn trace(&self, event: fmt::Arguments<'_>) {
        if let Some(tracer) = &self.mailbox.tracer {
            tracer.line(self.mailbox.id, event);
            self.mailbox.shared.wake_loop();
        }
    }

    /// Hands `piece` to the loop, and gives the job back to go on with,
    /// or `None`: it parked, or the connection is gone (the job ends).
    ///
    /// It parks when `AHEAD` bytes wait unwritten: it leaves the rest of
    /// itself in the mailbox and frees its worker, so a client that does
    /// not read holds no worker. The check and the parking happen under
    /// the lock `Reply::fill` takes the bytes under: either the loop took
    /// them first and there is room, or it will find the job parked.
    fn put(self, piece: &[u8], exchange: Exchange) -> Option<(Exchange, Self)> {
        let mailbox = Arc::clone(&self.mailbox);
        let mut inbox = lock(&mailbox.inbox);
        if inbox.loop_gone {
            // `self` and `exchange` are dropped after the lock is let go:
            // the sender's drop takes it. Dropping the exchange closes a
            // file, kills and reaps a CGI script.
            drop(inbox);
            return None;
        }
        let news = inbox.bytes.is_empty();
        inbox.bytes.extend_from_slice(piece);
        let go_on = if inbox.bytes.len() < AHEAD {
            Some((exchange, self))
        } else {
            self.trace(format_args!("job parked"));
            inbox.parked = Some(Box::new(move || {
                self.trace(format_args!("job resumed by {Worker}"));
                pull(exchange, self);
            }));
            None
        };
        drop(inbox);
        if news {
            mailbox.notify();
        }
        go_on
    }

    // ANCHOR_END: sender

    // ANCHOR: finish
    /// Hands the last piece to the loop, with how the response went.
    fn finish(mut self, piece: &[u8], summary: Summary) {
        // Before the loop can hear of it: its lines come after this one.
        self.trace(format_args!("job finished"));
        let mut inbox = lock(&self.mailbox.inbox);
        let news = inbox.bytes.is_empty() && !inbox.loop_gone;
        inbox.bytes.extend_from_slice(piece);
        inbox.summary = Some(summary);
        drop(inbox);
        self.done = true;
        if news {
            self.mailbox.notify();
        }
    }
}

impl Drop for Sender {
    /// However the job ends (done, panicked, parked and dropped, never
    /// run), it is counted out here, because a drop cannot be forgotten.
    fn drop(&mut self) {
        if !self.done {
            // No last piece: the loop, if it still waits, must look.
            let mut inbox = lock(&self.mailbox.inbox);
            inbox.job_gone = true;
            let news = inbox.bytes.is_empty() && !inbox.loop_gone;
            let waited_for = !inbox.loop_gone;
            drop(inbox);
            if waited_for {
                self.trace(format_args!("job died before its last bytes"));
            }
            if news {
                self.mailbox.notify();
            }
        }
        let shared = &self.mailbox.shared;
        let left = shared.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && shared.draining.load(Ordering::SeqCst) {
            shared.wake_loop(); // the loop waits for this (see `busy`)
        }
    }
}
// ANCHOR_END: finish

// ANCHOR: job
/// One job: run the app for a request, then pull its response.
fn serve(app: &dyn App, request: Request, sender: Sender) {
    sender.trace(format_args!("job taken by {Worker}"));
    let Request { head, body, info } = request;
    // The loop read the whole body (into memory, or a file when it is
    // large): the app never waits on the socket, nor holds a worker
    // while a slow client sends.
    let mut environ = body.environ(&head, &info);
    // `respond` catches a panicking app and makes it a 500.
    let mut exchange = respond(app, &mut environ, RequestFacts::of(&head));
    // The loop began to shut down while the app ran: the head says so.
    if lock(&sender.mailbox.inbox).close {
        exchange.close_after();
    }
    // The request is done with: let it go before a long body.
    drop(environ);
    drop(head);
    pull(exchange, sender);
}

/// Pulls the response in pieces and hands them to the loop until it is
/// complete, the connection is gone, or the job parks (then the loop
/// calls this again, on whichever worker is free, when it took the
/// bytes).
fn pull(mut exchange: Exchange, mut sender: Sender) {
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let more = exchange.fill(&mut piece, PIECE);
        if !more {
            return sender.finish(&piece, Summary::of(&exchange));
        }
        match sender.put(&piece, exchange) {
            Some(job) => (exchange, sender) = job,
            None => return,
        }
    }
}
// ANCHOR_END: job

/// What the loop needs to know once a response is complete.
pub(crate) struct Summary {
    pub(crate) keep_alive: bool,
    pub(crate) status: u16,
    pub(crate) body_bytes: u64,
    pub(crate) problem: Option<String>,
}

impl Summary {
    pub(crate) fn of(exchange: &Exchange) -> Self {
        Summary {
            keep_alive: exchange.keep_alive(),
            status: exchange.status(),
            body_bytes: exchange.body_bytes(),
            problem: exchange.problem().map(str::to_string),
        }
    }

    /// The job died without its last piece (it panicked outside the
    /// app, in the body, say). If nothing was sent yet, the client can
    /// still get a 500; otherwise the connection closes mid-response,
    /// which is how HTTP says "incomplete".
    pub(crate) fn job_died(started: bool, out: &mut Vec<u8>) -> Self {
        let problem = "the job panicked while producing the response";
        if !started {
            write_error(out, &HttpError::new(500, problem));
        }
        Summary {
            keep_alive: false,
            // Mid-response we no longer know what status was sent; the
            // log says 500 either way.
            status: 500,
            body_bytes: 0,
            problem: Some(problem.to_string()),
        }
    }
}

// ANCHOR: reply
/// The loop's end of a mailbox: the response as part 3's loop sees it.
struct Reply {
    mailbox: Arc<Mailbox>,
    /// Where a parked job goes on.
    pool: Arc<Pool>,
    /// Set once the last piece arrived.
    summary: Option<Summary>,
    /// Some bytes have been handed to the loop.
    started: bool,
}

impl Output for Reply {
    /// Takes whatever the worker has put so far: perhaps more than
    /// `want`, by at most `AHEAD`, which is in memory already.
    fn fill(&mut self, out: &mut Vec<u8>, _want: usize) -> Progress {
        let mut inbox = lock(&self.mailbox.inbox);
        let got = !inbox.bytes.is_empty();
        out.append(&mut inbox.bytes);
        let summary = inbox.summary.take();
        let job_gone = inbox.job_gone;
        let parked = inbox.parked.take();
        drop(inbox);
        if let Some(job) = parked {
            // The mailbox is empty: the job goes on. It was admitted
            // already, so the queue's bound does not apply.
            self.pool.execute(job);
        }
        self.started |= got;
        if let Some(tracer) = &self.mailbox.tracer
            && (got || summary.is_some() || job_gone)
        {
            // The job's lines come before our write.
            tracer.take_in(self.mailbox.id);
        }
        if summary.is_some() {
            self.summary = summary;
            Progress::Done
        } else if job_gone {
            self.summary = Some(Summary::job_died(self.started, out));
            Progress::Done
        } else if got {
            Progress::More
        } else {
            Progress::Pending // the worker will wake us
        }
    }

    // ANCHOR_END: reply

    fn keep_alive(&self) -> bool {
        self.summary.as_ref().is_some_and(|s| s.keep_alive)
    }

    fn status(&self) -> u16 {
        self.summary.as_ref().map_or(500, |s| s.status)
    }

    fn body_bytes(&self) -> u64 {
        self.summary.as_ref().map_or(0, |s| s.body_bytes)
    }

    fn problem(&self) -> Option<String> {
        self.summary.as_ref().and_then(|s| s.problem.clone())
    }

    /// Read by the job before it makes the head; once the head is made,
    /// it is too late, and the connection just closes after it.
    fn close_after(&mut self) {
        lock(&self.mailbox.inbox).close = true;
    }
}

impl Drop for Reply {
    /// The connection is done with this response, finished or not. A job
    /// still making it must stop: a running one sees `loop_gone` at its
    /// next `put`; a parked one is taken out and dropped here, which
    /// drops its body and counts it out.
    fn drop(&mut self) {
        let parked = {
            let mut inbox = lock(&self.mailbox.inbox);
            inbox.loop_gone = true;
            inbox.parked.take()
        };
        // After the lock is let go: the job's sender takes it.
        drop(parked);
    }
}

// ANCHOR: queue-full
/// Every worker is busy and the queue is full: answer `503` right away,
/// on the loop thread, rather than make the client wait in a line that
/// only grows. `Retry-After` says when to try again; the connection
/// closes, so a client that pipelined more requests must resend them.
pub(crate) fn queue_full(mut facts: RequestFacts) -> Box<dyn Output> {
    facts.keep_alive = false;
    // A tiny app through part 2's `respond`: the head is framed and
    // dated like any other. It reads nothing, so its environ is empty.
    let mut environ = Environ::new(Default::default(), std::io::empty());
    Box::new(respond(&server_busy, &mut environ, facts))
}

fn server_busy(
    _: &mut Environ<'_>,
    start_response: &mut StartResponse,
) -> Body {
    start_response.start(
        "503 Service Unavailable",
        vec![
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
            ("Retry-After".into(), "1".into()),
        ],
    );
    Body::from("503 Service Unavailable: server busy, retry shortly\n")
}
// ANCHOR_END: queue-full
