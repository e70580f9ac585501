//! The tuned dispatcher: the plain one's design (a job per request, a
//! mailbox per response, parking, 503, drain) with fewer wake-ups, locks
//! and allocations per request.
//!
//! The loop gathers a turn's requests and queues them together in
//! [`Dispatch::turn_end`]. A worker notes which connections have news
//! and wakes the loop once, when it runs out of jobs (the pool's idle
//! hook), not once per response; so that news a busy worker sits on is
//! not late, `turn_end` asks the loop back within [`STALE`] while jobs
//! are in flight, which also runs the pool's watchdog. Jobs are plain
//! values ([`Work`]), finished mailboxes are reused, and small buffers
//! are copied rather than handed between threads, so that each is freed
//! by the thread that allocated it.
//!
//! ```text
//!   loop thread                          worker thread
//!   ───────────                          ─────────────
//!   requests complete: dispatch()
//!   turn_end() ───── jobs ─────────────▶ respond(app, environ)
//!   fill() → Pending                     exchange.fill(piece)
//!        ▲                ◀── mailbox ── put; parks if 256 KiB wait
//!        │                               ready.ids.push(conn id)
//!        └── woken() ◀── waker.wake() ── no jobs left: tell_loop()
//!   fill() → bytes, write them;
//!            a parked job? ── resume ──▶ exchange.fill(piece) …
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mio::Waker;
use part2_gateway::exchange::{Exchange, respond};
use part2_gateway::gateway::SharedApp;
use part2_gateway::request::RequestHead;
use part2_gateway::response::RequestFacts;
use part3_selectors::connection::ConnId;
use part3_selectors::dispatch::{Dispatch, Output, Progress, Request};
use part3_selectors::trace::Tracer;

use super::pool::{Pool, STALE, Task};
use crate::pool::lock;
use crate::threaded::{Summary, Worker, queue_full, trace_loop, trace_woken};

/// About how many bytes a worker hands the loop at a time; the same as
/// the loop's own write chunk, so one piece is one `write`.
const PIECE: usize = 64 * 1024;

/// How far a worker may get ahead of the loop on one response. Beyond
/// that the job parks until the loop takes the bytes: a response is
/// never held whole in memory, only about `AHEAD` bytes (plus the piece
/// being made) per connection.
const AHEAD: usize = 4 * PIECE;

// ANCHOR: small
/// Room for a small response (head and short body) in a new mailbox.
const SMALL: usize = 512;

/// Pieces bigger than this change hands without a copy (see `append`).
const MOVE_OVER: usize = 4096;
// ANCHOR_END: small

// ANCHOR: short-reads
/// Whether a short read may stand for `WouldBlock` here: epoll and kqueue
/// report bytes that arrive after a read as they reported the first
/// ones; Windows' readiness does not promise it.
pub const SHORT_READS: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
));
// ANCHOR_END: short-reads

// ANCHOR: shared
/// What the workers and the loop share.
struct Shared {
    /// The app. A job reaches it through its mailbox, which holds this
    /// `Shared`, so the app's own reference count is not touched per
    /// request.
    app: SharedApp,
    /// The loop's waker, from [`Dispatch::attach`].
    waker: OnceLock<Arc<Waker>>,
    /// Connections whose responses have news since the loop last looked.
    ready: Padded<Mutex<Ready>>,
    /// Jobs ever made, counted by the loop, and jobs ended, counted by
    /// the workers: the difference is the jobs in flight. Each side
    /// writes only its own, on its own cache line.
    started: Padded<AtomicUsize>,
    ended: Padded<AtomicUsize>,
    /// The loop has asked [`Dispatch::busy`] and was told yes: it waits
    /// for a wake-up when a job ends.
    drain_waiting: AtomicBool,
}

/// A value alone on its 64-byte cache line (crossbeam's `CachePadded`),
/// so that writers of neighbouring values do not slow each other down.
#[repr(align(64))]
#[derive(Default)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The news waiting for the loop.
#[derive(Default)]
struct Ready {
    /// Connections whose responses have news since the loop last looked.
    ids: Vec<ConnId>,
    /// The loop has been woken for these and will take them.
    told: bool,
}
// ANCHOR_END: shared

impl Shared {
    // ANCHOR: wake
    /// Notes that connection `id` has news, without waking the loop: the
    /// worker wakes it once it runs out of jobs ([`Shared::tell_loop`]),
    /// once for a batch of responses; `turn_end` looks within `STALE`.
    fn news_for(&self, id: ConnId) {
        lock(&self.ready).ids.push(id);
    }

    /// Wakes the loop if there is news it has not been told about.
    fn tell_loop(&self) {
        let wake = {
            let mut ready = lock(&self.ready);
            let wake = !ready.ids.is_empty() && !ready.told;
            ready.told |= wake;
            wake
        };
        if wake {
            self.wake_loop();
        }
    }

    fn wake_loop(&self) {
        if let Some(waker) = self.waker.get() {
            // If waking fails the loop is gone, and nobody is waiting.
            let _ = waker.wake();
        }
    }
    // ANCHOR_END: wake
}

/// Where one response travels from its worker to the loop: one buffer
/// the worker appends to and the loop empties, reused across responses
/// (`Spares`).
///
/// When `AHEAD` bytes wait unwritten, the job *parks*: it leaves its
/// continuation in the mailbox and gives the worker back, since a worker
/// waiting on a client that does not read is lost to every other client.
/// The loop, having taken the bytes, resumes it ([`Pool::resume`]).
struct Mailbox {
    inbox: Mutex<Inbox>,
    shared: Arc<Shared>,
    /// The loop will close after this response (it is shutting down): a
    /// head not made yet must say `Connection: close`. Apart from the
    /// inbox, so a job reads it without taking the lock.
    close: AtomicBool,
    /// `--trace` only: where the job's lines go. Boxed: one pointer,
    /// `None` without `--trace`.
    trace: Option<Box<MailboxTrace>>,
}

/// With `--trace`, where a mailbox's jobs write their lines, and which
/// connection it serves now, for the loop to take their lines in when it
/// takes their bytes.
struct MailboxTrace {
    tracer: Tracer,
    id: Mutex<Option<ConnId>>,
}

/// Mailboxes of finished responses, kept by the loop for new ones: no
/// allocation per request.
type Spares = Arc<Mutex<Vec<Arc<Mailbox>>>>;

/// How many finished mailboxes the loop keeps.
const SPARE_MAILBOXES: usize = 64;

#[derive(Default)]
struct Inbox {
    /// Bytes produced and not yet taken by the loop.
    bytes: Vec<u8>,
    /// How it went; arrives with the last bytes.
    summary: Option<Summary>,
    /// The worker's end ([`Ticket`]) is gone.
    worker_gone: bool,
    /// The loop's end ([`Reply`]) is gone: the connection closed.
    loop_gone: bool,
    /// A job that found the mailbox full, waiting for the loop to take
    /// the bytes. It holds its ticket, which holds this mailbox: a cycle,
    /// broken when the loop takes the job out, to resume it or, if the
    /// connection closed, to drop it.
    parked: Option<Work>,
}

impl Inbox {
    /// An empty inbox with room for a small response, made (and later
    /// freed) on the loop thread.
    fn new() -> Self {
        Inbox {
            bytes: Vec::with_capacity(SMALL),
            ..Inbox::default()
        }
    }
}

/// A job's end of its response: the mailbox, and a drop guard that does
/// the bookkeeping however the job ends (done, refused, panicked),
/// because a guard cannot forget.
struct Ticket {
    mailbox: Arc<Mailbox>,
    id: ConnId,
    /// The last piece was put: the loop needs nothing more from us.
    done: bool,
}

impl Ticket {
    /// A trace line about the job, from its worker.
    fn trace(&self, event: fmt::Arguments<'_>) {
        if let Some(trace) = &self.mailbox.trace {
            trace.tracer.line(self.id, event);
            self.mailbox.shared.wake_loop(); // to print it
        }
    }

    /// Counts a job in flight from the moment it is made.
    fn new(id: ConnId, mailbox: Arc<Mailbox>) -> Self {
        // Only the loop makes tickets, so only the loop writes here.
        mailbox.shared.started.fetch_add(1, Ordering::SeqCst);
        Ticket {
            mailbox,
            id,
            done: false,
        }
    }

    /// Hands `piece` (and, with the last one, the `summary`) to the loop
    /// and tells it so. Never waits: [`Ticket::park_if_full`] keeps the
    /// job from getting too far ahead. `false` if the connection is gone.
    fn put(&mut self, mut piece: Vec<u8>, summary: Option<Summary>) -> bool {
        if summary.is_some() {
            // Before the loop can hear of it: its lines come after this.
            self.trace(format_args!("job finished"));
        }
        let mut inbox = lock(&self.mailbox.inbox);
        if inbox.loop_gone {
            return false;
        }
        // Bytes still waiting means the loop has been told and has not
        // looked yet: it will take these with them, no news needed.
        let news = inbox.bytes.is_empty();
        append(&mut inbox.bytes, &mut piece);
        self.done = summary.is_some();
        inbox.summary = summary;
        drop(inbox);
        if news {
            self.mailbox.shared.news_for(self.id);
        }
        true
    }

    /// Between pieces: gives the job back to its caller, to pull the
    /// next piece, if the mailbox has room. If `AHEAD` bytes wait
    /// unwritten, parks the rest of the job (`exchange` and this ticket)
    /// in the mailbox for the loop to resume, and returns `None`: the
    /// loop sets the pace, and the worker is free meanwhile. `None` too
    /// if the connection is gone; the job is then dropped.
    ///
    /// The check and the parking happen under one lock, the same one
    /// `Reply::fill` takes the bytes and the parked job under: either
    /// the loop took the bytes first and there is room, or it will find
    /// the job parked. Neither side can miss the other.
    fn park_if_full(self, exchange: Exchange) -> Option<(Exchange, Ticket)> {
        // The guard borrows this clone, not `self`, which may move into
        // the mailbox while the lock is held.
        let mailbox = Arc::clone(&self.mailbox);
        let mut inbox = lock(&mailbox.inbox);
        if inbox.loop_gone {
            // Nobody would ever take a job parked now: it would keep the
            // mailbox alive (the cycle) and count in flight forever.
            // Dropped after the lock is released: the ticket's drop
            // guard takes it.
            drop(inbox);
            return None;
        }
        if inbox.bytes.len() < AHEAD {
            drop(inbox);
            return Some((exchange, self));
        }
        self.trace(format_args!("job parked"));
        inbox.parked = Some(Work(Step::Resume {
            exchange,
            ticket: self,
        }));
        None
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let shared = &self.mailbox.shared;
        // After the last piece the loop has all it needs: the summary
        // tells it the job is over. Otherwise the job ended early.
        if !self.done {
            let told = {
                let mut inbox = lock(&self.mailbox.inbox);
                inbox.worker_gone = true;
                inbox.loop_gone
            };
            if !told {
                self.trace(format_args!("job died before its last bytes"));
                // The job panicked before its last piece: the loop must
                // look at the connection, or it would wait for it forever.
                shared.news_for(self.id);
            }
        }
        // A job's end wakes a loop that is waiting to exit (see `busy`),
        // which counts again. SeqCst on both sides: either `busy` sees
        // this job counted out, or we see its flag.
        shared.ended.fetch_add(1, Ordering::SeqCst);
        if shared.drain_waiting.load(Ordering::SeqCst) {
            shared.wake_loop();
        }
    }
}

/// Runs each request's app on a worker of a [`Pool`].
///
/// The pool is shared (`Arc`) so that whoever builds the loop can keep
/// it alive after the loop is gone: connections must be dropped before
/// the workers are joined, so that the jobs parked on them are dropped
/// and a job still running finds its connection gone. See `main.rs`.
/// Each `Reply` holds the pool too, to resume its parked job.
pub struct Threaded {
    pool: Arc<Pool<Work>>,
    shared: Arc<Shared>,
    spares: Spares,
    /// This loop turn's jobs, handed to the pool together in `turn_end`.
    batch: Vec<Work>,
    /// The pool's room as this turn began: asked once per turn, not per
    /// request, since asking takes the lock the workers take jobs under.
    room: Option<usize>,
    /// Heads of finished requests, for the loop to parse new ones into:
    /// reused rather than freed a turn after they were made.
    heads: Vec<RequestHead>,
    /// `--trace`: where the jobs' lines go.
    tracer: Option<Tracer>,
}

/// How many finished request heads the dispatcher keeps for reuse.
const SPARE_HEADS: usize = 64;

impl Threaded {
    /// Runs `app` on the workers of `pool`.
    pub fn new(app: SharedApp, pool: Arc<Pool<Work>>) -> Self {
        let shared = Arc::new(Shared {
            app,
            waker: OnceLock::new(),
            ready: Padded::default(),
            started: Padded::default(),
            ended: Padded::default(),
            drain_waiting: AtomicBool::new(false),
        });
        let idle = Arc::clone(&shared);
        pool.on_idle(move || idle.tell_loop());
        Threaded {
            pool,
            shared,
            spares: Spares::default(),
            batch: Vec::new(),
            room: None,
            heads: Vec::new(),
            tracer: None,
        }
    }

    /// The pool the apps run on.
    pub fn pool(&self) -> &Arc<Pool<Work>> {
        &self.pool
    }

    /// A handle that reports how many jobs are in flight, for tests and
    /// metrics, usable after the dispatcher moved into the loop.
    pub fn monitor(&self) -> Monitor {
        Monitor(Arc::clone(&self.shared))
    }
}

impl Dispatch for Threaded {
    fn attach(&mut self, waker: Arc<Waker>) {
        let _ = self.shared.waker.set(waker);
    }

    fn trace_to(&mut self, tracer: Tracer) {
        self.tracer = Some(tracer);
    }

    // ANCHOR: dispatch
    fn dispatch(&mut self, id: ConnId, request: Request) -> Box<dyn Output> {
        // The jobs of this turn are not in the queue yet: count them.
        let room = *self.room.get_or_insert_with(|| self.pool.room());
        if room <= self.batch.len() {
            trace_loop(&self.tracer, id, format_args!("queue full: 503"));
            return queue_full(RequestFacts::of(&request.head));
        }
        let mailbox = lock(&self.spares).pop().unwrap_or_else(|| {
            Arc::new(Mailbox {
                inbox: Mutex::new(Inbox::new()),
                shared: Arc::clone(&self.shared),
                close: AtomicBool::new(false),
                trace: self.tracer.clone().map(|tracer| {
                    let id = Mutex::new(None);
                    Box::new(MailboxTrace { tracer, id })
                }),
            })
        });
        if let Some(trace) = &mailbox.trace {
            *lock(&trace.id) = Some(id);
        }
        // Queued at the turn's end, before any worker can take it.
        trace_loop(&self.tracer, id, format_args!("job queued"));
        let ticket = Ticket::new(id, Arc::clone(&mailbox));
        // Not queued yet: see `turn_end`.
        self.batch.push(Work(Step::Start { request, ticket }));
        Box::new(Reply {
            mailbox,
            pool: Arc::clone(&self.pool),
            spares: Arc::clone(&self.spares),
            summary: None,
            started: false,
        })
    }
    // ANCHOR_END: dispatch

    // ANCHOR: turn-end
    fn turn_end(&mut self) -> Option<Duration> {
        // The turn's requests together: one lock and at most one
        // wake-up, where queueing each would cost both per request.
        self.pool.execute_all(&mut self.batch);
        self.room = None;
        // One worker was woken for the lot. If jobs wait while others
        // sleep, come back within `STALE` to wake them; while jobs run,
        // come back too, for news a busy worker has not told us about.
        let waiting = self.pool.watch(Instant::now());
        (waiting || self.shared.in_flight() > 0).then_some(STALE)
    }
    // ANCHOR_END: turn-end

    fn short_reads(&self) -> bool {
        SHORT_READS
    }

    fn spare_head(&mut self) -> Option<RequestHead> {
        self.heads.pop()
    }

    fn recycle_head(&mut self, head: Arc<RequestHead>) {
        // The worker let go of its clone before the last piece (see
        // `run_job`); if it still holds one, the head is not ours to keep.
        if self.heads.len() < SPARE_HEADS
            && let Ok(head) = Arc::try_unwrap(head)
        {
            self.heads.push(head);
        }
    }

    fn woken(&mut self, ready: &mut Vec<ConnId>) {
        let before = ready.len();
        // Take every id at once; news after this needs a new wake-up.
        let mut news = lock(&self.shared.ready);
        ready.append(&mut news.ids);
        news.told = false;
        drop(news);
        trace_woken(&self.tracer, &ready[before..]);
    }

    fn busy(&self) -> bool {
        // The loop asks only while draining. Answering yes promises a
        // wake-up when the answer changes, or the loop would sleep until
        // its shutdown deadline: the flag tells every job that ends to
        // wake it. A parked job counts as in flight (its ticket is alive)
        // and ends with its response or its connection: at the latest
        // when the write timeout closes a client that does not read.
        self.shared.drain_waiting.store(true, Ordering::SeqCst);
        self.shared.in_flight() > 0
    }
}

/// Reports on a [`Threaded`] dispatcher from outside the loop.
#[derive(Clone)]
pub struct Monitor(Arc<Shared>);

impl Monitor {
    /// Jobs queued or running right now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight()
    }
}

impl Shared {
    fn in_flight(&self) -> usize {
        // `ended` first: a job counted out was counted in before, so the
        // later read of `started` is never smaller.
        let ended = self.ended.load(Ordering::SeqCst);
        self.started.load(Ordering::SeqCst).wrapping_sub(ended)
    }
}

// ANCHOR: work
/// One job for the pool: a request to serve, or a response to go on
/// with. A plain value rather than a boxed closure: no box per request.
pub struct Work(Step);

enum Step {
    /// Run the app for a request, then pull the response.
    Start { request: Request, ticket: Ticket },
    /// Go on pulling a response that parked.
    Resume { exchange: Exchange, ticket: Ticket },
}

impl Task for Work {
    fn run(self) {
        match self.0 {
            Step::Start { request, ticket } => run_job(request, ticket),
            Step::Resume { exchange, ticket } => {
                ticket.trace(format_args!("job resumed by {Worker}"));
                pull(exchange, ticket);
            }
        }
    }
}
// ANCHOR_END: work

/// What a worker does for one request: run the app, then pull its body.
fn run_job(request: Request, ticket: Ticket) {
    ticket.trace(format_args!("job taken by {Worker}"));
    let Request { head, body, info } = request;
    // The body was read whole by the loop (into memory, or a file when it
    // is large): the app never waits on the socket.
    let mut environ = body.environ(&head, &info);
    let app = &*ticket.mailbox.shared.app;
    // `respond` catches a panicking app and makes it a 500.
    let mut exchange = respond(app, &mut environ, RequestFacts::of(&head));
    // The loop began to shut down while the app ran: the head says so.
    if ticket.mailbox.close.load(Ordering::Relaxed) {
        exchange.close_after();
    }
    // Let go of the head before the response reaches the loop: the loop
    // hands it back (`recycle_head`), and it is reused only if nobody
    // else still holds it.
    drop(environ);
    drop(head);
    pull(exchange, ticket);
}

/// Pulls the response in pieces and hands each to the loop, until it is
/// done, or its connection is gone, or the loop is behind: then the rest
/// of the job parks in the mailbox, and the loop resumes it here (on
/// whichever worker is free) once it has taken the bytes.
fn pull(mut exchange: Exchange, mut ticket: Ticket) {
    loop {
        // No capacity: the first `fill` hands over the buffer the head was
        // written in, and a small body joins it there.
        let mut piece = Vec::new();
        let more = exchange.fill(&mut piece, PIECE);
        let summary = (!more).then(|| Summary::of(&exchange));
        if !ticket.put(piece, summary) || !more {
            // Done, or the connection is gone (the client left, or
            // stalled past the write timeout): stop pulling. Dropping
            // `exchange` drops the body, which kills and reaps a CGI
            // script, closes a file.
            return;
        }
        // The loop is behind: park rather than wait, so a big body never
        // sits in memory whole and a client that does not read never
        // holds a worker.
        match ticket.park_if_full(exchange) {
            Some((same, still)) => (exchange, ticket) = (same, still),
            None => return,
        }
    }
}

/// The loop's side of a response a worker is producing.
struct Reply {
    mailbox: Arc<Mailbox>,
    /// Where a parked job goes when there is room again.
    pool: Arc<Pool<Work>>,
    /// Where the mailbox goes when the response is over.
    spares: Spares,
    /// Set once the last piece arrived.
    summary: Option<Summary>,
    /// Some bytes of the response have been handed to the loop.
    started: bool,
}

impl Output for Reply {
    /// Takes whatever the worker has put so far. That may be more than
    /// `want`, by at most `AHEAD`: the bytes are in memory already.
    fn fill(&mut self, out: &mut Vec<u8>, _want: usize) -> Progress {
        let mut inbox = lock(&self.mailbox.inbox);
        let got = !inbox.bytes.is_empty();
        append(out, &mut inbox.bytes);
        let summary = inbox.summary.take();
        let worker_gone = inbox.worker_gone;
        // The mailbox is empty: a job parked on it may go on. (It parked
        // on a full mailbox, so this call took bytes and returns `More`;
        // the job's next `put` finds the mailbox empty and sends news.)
        let parked = inbox.parked.take();
        drop(inbox);
        if let Some(job) = parked {
            self.pool.resume(job);
        }
        self.started |= got;
        if let Some(trace) = &self.mailbox.trace
            && (got || summary.is_some() || worker_gone)
            && let Some(id) = *lock(&trace.id)
        {
            trace.tracer.take_in(id); // the job's lines come before our write
        }
        if summary.is_some() {
            self.summary = summary;
            Progress::Done
        } else if worker_gone {
            self.summary = Some(Summary::job_died(self.started, out));
            Progress::Done
        } else if got {
            Progress::More
        } else {
            // The worker has not put more yet; it will wake us.
            Progress::Pending
        }
    }

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
        self.mailbox.close.store(true, Ordering::Relaxed);
    }
}

impl Drop for Reply {
    /// The connection is done with this response, finished or not. A
    /// job still producing it must stop: a running one finds out at its
    /// next `put`, and a parked one is taken out and dropped here. That
    /// breaks the cycle (mailbox, job, ticket, mailbox), drops the body
    /// (closes a file, kills and reaps a CGI script, as part 3's loop
    /// does when it drops an exchange), and lets the ticket's drop guard
    /// count the job out of `in_flight`.
    fn drop(&mut self) {
        if self.summary.is_some() {
            // The job is over (it put its last piece, or died), and
            // nothing is parked. Once its ticket is gone too, nobody else
            // holds the mailbox: it can serve another response.
            if Arc::strong_count(&self.mailbox) == 1 {
                self.recycle();
            }
            return;
        }
        let parked = {
            let mut inbox = lock(&self.mailbox.inbox);
            inbox.loop_gone = true;
            inbox.parked.take()
        };
        // After the lock is released: the ticket's drop guard takes it.
        drop(parked);
    }
}

// ANCHOR: recycle
impl Reply {
    /// Empties the mailbox and keeps it for a later response.
    fn recycle(&self) {
        let mut spares = lock(&self.spares);
        if spares.len() < SPARE_MAILBOXES {
            let mut inbox = lock(&self.mailbox.inbox);
            let mut bytes = std::mem::take(&mut inbox.bytes);
            *inbox = if bytes.capacity() > SMALL {
                Inbox::new() // a big response's buffer: let it go
            } else {
                bytes.clear();
                Inbox {
                    bytes,
                    ..Inbox::default()
                }
            };
            drop(inbox);
            self.mailbox.close.store(false, Ordering::Relaxed);
            spares.push(Arc::clone(&self.mailbox));
        }
    }
}

// ANCHOR_END: recycle

// ANCHOR: append
/// Moves the bytes of `piece` to the end of `out`, leaving `piece` empty.
/// A big piece into an empty `out` changes hands without a copy; small
/// ones are copied, so each buffer is freed where it was allocated.
fn append(out: &mut Vec<u8>, piece: &mut Vec<u8>) {
    if out.is_empty() && piece.len() > MOVE_OVER {
        std::mem::swap(out, piece);
    } else {
        out.extend_from_slice(piece);
    }
    piece.clear();
}
// ANCHOR_END: append
