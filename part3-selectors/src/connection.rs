//! One connection's state machine.
//!
//! ```text
//!            bytes                head whole            body whole
//!   Idle ─────────────▶ Head ─────────────────▶ Body ─────────────▶ Respond
//!    ▲                   │  (no body)                                  │
//!    │                   └──────────────────────────────────────────▶ │
//!    │        keep-alive: parse what is left in the buffer             │
//!    └─────────────────────────────────────────────────────────────────┘
//!                                 close: ──▶ Closing (lingering) ──▶ gone
//! ```
//!
//! Nothing here blocks: every read and write may return `WouldBlock`,
//! and then the connection simply waits for the loop to call it again
//! when the socket is ready.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use part1_hello::trace::Bytes;
use part2_gateway::body::BodyDecoder;
use part2_gateway::environ::ServerInfo;
use part2_gateway::error::HttpError;
use part2_gateway::exchange::Exchange;
use part2_gateway::log;
use part2_gateway::request::{Limits, RequestHead, RequestParser, Version};
use part2_gateway::response::CONTINUE;

use crate::dispatch::{Dispatch, Output, Progress, Request};
use crate::event_loop::Config;
use crate::spool::{RequestBody, Spool};
use crate::timer::Timers;
use crate::trace::{Log, trace};

/// How much response the loop prepares before writing it.
const OUT_CHUNK: usize = 64 * 1024;

/// Which connection: its slab slot and its serial number, so that
/// anything still naming a closed connection (a timer entry, say) never
/// acts on the next one that reuses the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    /// The slot in the slab, also the `mio::Token`.
    pub slot: usize,
    /// Unique for the life of the loop; `#N` in `--trace` lines.
    pub serial: u64,
}

// ANCHOR: phase
/// Where a connection is in its request/response cycle.
enum Phase {
    /// Between requests: nothing buffered, waiting for the first byte.
    Idle,
    /// Part of a request head has arrived.
    Head,
    /// The head is parsed; the body is being decoded, into memory or,
    /// once it is large, a temporary file.
    Body {
        head: Arc<RequestHead>,
        decoder: BodyDecoder,
        body: Spool,
    },
    /// A response is being produced and written.
    Respond {
        output: Box<dyn Output>,
        /// The request, for the access log.
        head: Option<Arc<RequestHead>>,
        /// The producer said `Done`: only the buffered bytes remain.
        produced: bool,
        /// The head has been produced (for `--verbose`).
        started: bool,
    },
    /// Our side is shut; we drain what the client still sends until it
    /// closes too, so our last response is not destroyed by a reset.
    Closing,
}
// ANCHOR_END: phase

impl Phase {
    /// Its name, for `--trace`.
    fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "Idle",
            Phase::Head => "Head",
            Phase::Body { .. } => "Body",
            Phase::Respond { .. } => "Respond",
            Phase::Closing => "Closing",
        }
    }
}

/// For `--trace`: the name, and the request if there is one, as in
/// `Respond GET /hello`.
impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Phase::Body { head, .. }
            | Phase::Respond {
                head: Some(head), ..
            } => write!(f, " {} {}", head.method, head.target),
            _ => Ok(()),
        }
    }
}

/// Why a connection ended.
#[derive(Debug)]
pub enum Closed {
    /// An ordinary end (the client closed, keep-alive ended); the reason
    /// shows only with `--trace`.
    Quiet(&'static str),
    /// Something worth a line on stderr.
    Reason(String),
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::Quiet(reason) => f.write_str(reason),
            Closed::Reason(reason) => f.write_str(reason),
        }
    }
}

/// Everything the loop lends a connection while it runs.
pub struct Ctx<'a> {
    /// The loop's settings.
    pub config: &'a Config,
    /// Deadlines.
    pub timers: &'a mut Timers,
    /// Who runs complete requests.
    pub dispatch: &'a mut dyn Dispatch,
    /// A read buffer shared by every connection, so an idle connection
    /// holds no buffer of its own.
    pub scratch: &'a mut [u8],
    /// Access-log, `--verbose` and `--trace` lines, written once per turn.
    pub log: &'a mut Log,
    /// For switching interest on and off.
    pub registry: &'a Registry,
    /// The time this loop turn started.
    pub now: Instant,
    /// Which turn this is: the loop counts them.
    pub turn: u64,
    /// Connections the loop must drive next turn without an event: they
    /// stopped reading to give the others their turn.
    pub again: &'a mut Vec<ConnId>,
    /// The loop is shutting down: finish what is in flight, keep nothing.
    pub draining: bool,
}

/// One client connection.
pub struct Connection {
    /// Slot and serial.
    pub id: ConnId,
    stream: TcpStream,
    info: ServerInfo,
    phase: Phase,
    /// Received bytes not yet parsed. Empty (no allocation) when idle.
    inbuf: Vec<u8>,
    /// Remembers how far `inbuf` was scanned for the end of a head, so a
    /// head arriving in many reads is scanned once.
    parser: RequestParser,
    /// Bytes waiting to be written, from `out_pos` on.
    outbuf: Vec<u8>,
    out_pos: usize,
    /// The socket may have bytes we have not read: edge-triggered
    /// readiness tells us once, so we remember it until `WouldBlock`.
    readable: bool,
    /// The client shut its side (read returned 0).
    read_closed: bool,
    /// The poller saw the client's FIN: read on until it, whatever
    /// [`Dispatch::short_reads`] says.
    fin_ahead: bool,
    /// Close after the current response, whatever keep-alive says.
    close_after: bool,
    /// We refused the request (an error status): the client may still be
    /// sending, so the close must linger.
    refused: bool,
    /// Whether WRITABLE interest is on.
    want_write: bool,
    /// The loop turn in which a piece of body was last read.
    body_turn: u64,
    /// The loop was asked to come back next turn (`Ctx::again`).
    come_back: bool,
    /// When this connection must be looked at.
    deadline: Option<Instant>,
    /// The earliest entry this connection has in the timer heap.
    pub timer_at: Option<Instant>,
}

impl Connection {
    /// A freshly accepted connection; [`start`](Self::start) registers it.
    pub fn new(id: ConnId, stream: TcpStream, info: ServerInfo) -> Self {
        // Small responses go out in one write; Nagle would hold them back.
        let _ = stream.set_nodelay(true);
        Connection {
            id,
            stream,
            info,
            phase: Phase::Idle,
            inbuf: Vec::new(),
            parser: RequestParser::new(),
            outbuf: Vec::new(),
            out_pos: 0,
            // A client usually sends its request at once; try reading
            // before waiting for an event that may already have passed.
            readable: true,
            read_closed: false,
            fin_ahead: false,
            close_after: false,
            refused: false,
            want_write: false,
            body_turn: 0,
            come_back: false,
            deadline: None,
            timer_at: None,
        }
    }

    /// Registers the socket for READABLE under its slot's token and
    /// starts its idle clock. `Err` to close.
    pub fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Closed> {
        let token = Token(self.id.slot);
        if let Err(e) =
            ctx.registry
                .register(&mut self.stream, token, Interest::READABLE)
        {
            return Err(Closed::Reason(format!("cannot register: {e}")));
        }
        self.set_deadline(Some(ctx.now + ctx.config.idle_timeout), ctx);
        Ok(())
    }

    /// The client's address.
    pub fn peer(&self) -> std::net::SocketAddr {
        self.info.remote_addr
    }

    /// Deregisters the socket; dropping the connection closes it.
    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }

    /// Whether the connection sits between requests with nothing to do.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Idle) && self.inbuf.is_empty()
    }

    /// The poller says the socket is readable: until a read says
    /// `WouldBlock`, there may be bytes (or the end of the stream) to read.
    /// `fin`: the poller says the end of the stream is among them.
    pub fn ready(&mut self, fin: bool) {
        self.readable = true;
        self.fin_ahead |= fin;
    }

    /// Ends keep-alive: the current response is the last, and says so if
    /// its head has not gone out yet (a Part 4 app may still be running).
    pub fn close_after_response(&mut self) {
        self.close_after = true;
        if let Phase::Respond { output, .. } = &mut self.phase {
            output.close_after();
        }
    }

    // ANCHOR: set-deadline
    /// Sets (or clears) the deadline, pushing a heap entry only when no
    /// earlier entry of ours is already there to wake us in time.
    fn set_deadline(&mut self, at: Option<Instant>, ctx: &mut Ctx<'_>) {
        self.deadline = at;
        if let Some(at) = at
            && self.timer_at.is_none_or(|queued| queued > at)
        {
            ctx.timers.push(at, self.id);
            self.timer_at = Some(at);
        }
    }
    // ANCHOR_END: set-deadline

    /// Moves to `phase`.
    fn enter(&mut self, phase: Phase, ctx: &mut Ctx<'_>) {
        trace!(ctx.log, self.id, "{} -> {phase}", self.phase.name());
        self.phase = phase;
    }

    /// A heap entry of ours came due. Returns `Err` to close.
    pub fn on_timer(
        &mut self,
        at: Instant,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), Closed> {
        if self.timer_at != Some(at) {
            return Ok(()); // stale: a newer, earlier entry exists
        }
        self.timer_at = None;
        match self.deadline {
            Some(deadline) if deadline <= ctx.now => self.timed_out(ctx),
            // The deadline moved later: queue it again.
            later => {
                self.set_deadline(later, ctx);
                Ok(())
            }
        }
    }

    // ANCHOR: timed-out
    fn timed_out(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Closed> {
        self.deadline = None;
        match &self.phase {
            Phase::Idle => Err(Closed::Quiet("idle timeout")),
            Phase::Head => {
                // A slowloris ends here: 408, then close.
                let error = HttpError::new(408, "request not complete in time");
                self.refuse(None, &error, ctx);
                self.drive(ctx)
            }
            Phase::Body { .. } => {
                // The body stalled, or came slower than the minimum rate.
                let error = HttpError::new(408, "request body too slow");
                self.refuse(self.body_head(), &error, ctx);
                self.drive(ctx)
            }
            Phase::Respond { .. } => {
                Err(Closed::Reason("write stalled, client not reading".into()))
            }
            Phase::Closing => Err(Closed::Quiet("linger timeout")),
        }
    }
    // ANCHOR_END: timed-out

    // ANCHOR: drive
    /// Makes all the progress possible without blocking: write what is
    /// pending, produce more, parse what arrived, read what is there.
    /// Returns `Err` when the connection should be closed.
    pub fn drive(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Closed> {
        loop {
            if !self.flush(ctx)? {
                return Ok(()); // socket full: wait for WRITABLE
            }
            match &mut self.phase {
                Phase::Respond { .. } => {
                    if !self.produce(ctx)? {
                        return Ok(()); // the producer is pending
                    }
                }
                Phase::Closing => return self.linger(ctx),
                Phase::Idle | Phase::Head | Phase::Body { .. } => {
                    if self.parse(ctx) {
                        continue; // a request advanced: go again
                    }
                    if !self.read(ctx)? {
                        return Ok(()); // nothing more to read: wait
                    }
                }
            }
        }
    }
    // ANCHOR_END: drive

    // ANCHOR: flush
    /// Writes pending output. `Ok(true)`: all written.
    fn flush(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        while self.out_pos < self.outbuf.len() {
            match self.stream.write(&self.outbuf[self.out_pos..]) {
                Ok(0) => return Err(Closed::Reason("write returned 0".into())),
                Ok(n) => {
                    trace!(ctx.log, self.id, "wrote {}", Bytes(n));
                    self.out_pos += n;
                    if self.want_write {
                        // Progress: the stall clock starts again.
                        let at = ctx.now + ctx.config.write_timeout;
                        self.set_deadline(Some(at), ctx);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    trace!(ctx.log, self.id, "write would block");
                    // The kernel's send buffer is full: ask to be told
                    // when it drains, and give the client a deadline.
                    if !self.want_write {
                        self.set_interest(true, ctx);
                        let at = ctx.now + ctx.config.write_timeout;
                        self.set_deadline(Some(at), ctx);
                    }
                    return Ok(false);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Closed::Reason(e.to_string())),
            }
        }
        self.outbuf.clear();
        self.out_pos = 0;
        if self.outbuf.capacity() > 2 * OUT_CHUNK {
            // A producer handed over more than a chunk at once (part 4's
            // workers run ahead): keep no such buffer per connection.
            self.outbuf = Vec::new();
        }
        if self.want_write {
            self.set_interest(false, ctx);
            if matches!(self.phase, Phase::Respond { .. }) {
                self.set_deadline(None, ctx);
            }
        }
        Ok(true)
    }

    fn set_interest(&mut self, write: bool, ctx: &mut Ctx<'_>) {
        let interest = if write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        self.want_write = write;
        let token = Token(self.id.slot);
        let _ = ctx.registry.reregister(&mut self.stream, token, interest);
    }
    // ANCHOR_END: flush

    /// Pulls the next piece of the response into `outbuf`. Returns
    /// `Ok(false)` when the producer has nothing yet.
    fn produce(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        let Phase::Respond {
            output,
            head,
            produced,
            started,
        } = &mut self.phase
        else {
            return Ok(true);
        };
        if !*produced {
            let first = !*started;
            let start = self.outbuf.len();
            match output.fill(&mut self.outbuf, OUT_CHUNK) {
                Progress::More => {}
                Progress::Done => *produced = true,
                Progress::Pending => {
                    return Ok(self.outbuf.len() > start);
                }
            }
            if first && self.outbuf.len() > start {
                *started = true;
                if ctx.config.verbose {
                    let dump = log::dump_head(&self.outbuf[start..], "> ");
                    ctx.log.text().push_str(&dump);
                }
            }
            if !*produced || self.outbuf.len() > start {
                return Ok(true); // write this, then come back
            }
        }
        // Produced and flushed: the exchange is over.
        let keep = output.keep_alive() && !self.close_after && !ctx.draining;
        if let Some(problem) = output.problem() {
            log::stderr_line(&format!("{}: {problem}", self.info.remote_addr));
        }
        if ctx.config.access_log {
            let text = ctx.log.text();
            log::push_access_line(
                text,
                self.info.remote_addr.ip(),
                head.as_deref(),
                output.status(),
                output.body_bytes(),
            );
            text.push('\n');
        }
        if let Some(head) = head.take() {
            ctx.dispatch.recycle_head(head);
        }
        if keep {
            self.enter_idle(ctx);
        } else if self.inbuf.is_empty() && !self.readable && !self.refused {
            // All the client sent so far is read and answered: close at
            // once. Only bytes it sends after this would draw a reset, and
            // a client told `close` seldom sends more (nginx makes the same
            // guess); after an error we linger, as it may still be sending.
            return Err(Closed::Quiet("response done, not kept alive"));
        } else {
            self.start_closing(ctx);
        }
        Ok(true)
    }

    // ANCHOR: enter-idle
    /// Back between requests: give the buffers back, so 10,000 idle
    /// connections cost little memory. Bytes of a pipelined request stay
    /// in `inbuf`, and `drive` parses them next.
    fn enter_idle(&mut self, ctx: &mut Ctx<'_>) {
        self.enter(Phase::Idle, ctx);
        if self.inbuf.is_empty() {
            self.inbuf = Vec::new();
            self.set_deadline(Some(ctx.now + ctx.config.idle_timeout), ctx);
        }
        self.outbuf = Vec::new();
        self.out_pos = 0;
    }
    // ANCHOR_END: enter-idle

    // ANCHOR: closing
    fn start_closing(&mut self, ctx: &mut Ctx<'_>) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.enter(Phase::Closing, ctx);
        self.inbuf = Vec::new();
        self.set_deadline(Some(ctx.now + ctx.config.linger_timeout), ctx);
    }

    /// Reads and drops whatever the client still sends until it closes.
    fn linger(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Closed> {
        loop {
            match self.stream.read(ctx.scratch) {
                Ok(0) => return Err(Closed::Quiet("client closed")),
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    return Err(Closed::Quiet("read failed while lingering"));
                }
            }
        }
    }
    // ANCHOR_END: closing

    // ANCHOR: parse
    /// Advances the request in `inbuf` as far as the bytes allow.
    /// Returns whether anything changed.
    fn parse(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.inbuf.is_empty() {
            return false;
        }
        match self.phase {
            Phase::Idle | Phase::Head => self.parse_head(ctx),
            Phase::Body { .. } => self.decode_body(ctx),
            Phase::Respond { .. } | Phase::Closing => false,
        }
    }

    fn parse_head(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if matches!(self.phase, Phase::Idle) {
            // The first bytes of a request: its clock starts.
            self.enter(Phase::Head, ctx);
            let at = ctx.now + ctx.config.request_timeout;
            self.set_deadline(Some(at), ctx);
        }
        let limits = &ctx.config.limits;
        let parsed = match ctx.dispatch.spare_head() {
            None => self.parser.parse(&self.inbuf, limits),
            Some(spare) => self.parse_into(spare, limits),
        };
        match parsed {
            Ok(None) => false, // incomplete: read more
            Ok(Some((head, used))) => {
                if ctx.config.verbose {
                    let dump = log::dump_head(&self.inbuf[..used], "< ");
                    ctx.log.text().push_str(&dump);
                }
                self.inbuf.drain(..used);
                self.start_body(Arc::new(head), ctx);
                true
            }
            Err(error) => {
                self.refuse(None, &error, ctx);
                true
            }
        }
    }
    // ANCHOR_END: parse

    /// Parses into a head the dispatcher had spare
    /// ([`Dispatch::spare_head`]) rather than a new one.
    fn parse_into(
        &mut self,
        mut head: RequestHead,
        limits: &Limits,
    ) -> Result<Option<(RequestHead, usize)>, HttpError> {
        let used = self.parser.parse_into(&self.inbuf, limits, &mut head)?;
        Ok(used.map(|used| (head, used)))
    }

    /// The head of the request whose body is being read, if any.
    fn body_head(&self) -> Option<Arc<RequestHead>> {
        match &self.phase {
            Phase::Body { head, .. } => Some(Arc::clone(head)),
            _ => None,
        }
    }

    // ANCHOR: start-body
    /// The head is whole: read its body, or run it now if it has none.
    fn start_body(&mut self, head: Arc<RequestHead>, ctx: &mut Ctx<'_>) {
        let limits = &ctx.config.limits;
        let decoder = match BodyDecoder::with_limits(head.framing, limits) {
            Ok(decoder) => decoder,
            Err(error) => {
                // 413 before any `100 Continue`: the client that waits
                // for one never sends the body at all.
                self.refuse(Some(head), &error, ctx);
                return;
            }
        };
        if decoder.is_done() {
            return self.run(head, RequestBody::default(), ctx); // no body
        }
        let waiting = head.expect_continue
            && head.version == Version::Http11
            && self.inbuf.is_empty();
        if waiting {
            // The client waits for our word before it sends the body,
            // and this loop reads every body before the app runs: say
            // `100 Continue` now. (Part 2 waits until the app reads.)
            self.outbuf.extend_from_slice(CONTINUE);
        }
        // From here the body is timed by its progress (`body_progress`),
        // no longer by the head's deadline.
        let at = ctx.now + ctx.config.body_timeout.stall;
        self.set_deadline(Some(at), ctx);
        let body = Spool::default();
        self.enter(
            Phase::Body {
                head,
                decoder,
                body,
            },
            ctx,
        );
    }
    // ANCHOR_END: start-body

    // ANCHOR: decode-body
    /// Feeds `inbuf` to the body decoder, and what it decodes to the
    /// spool; runs the request once the body is whole.
    fn decode_body(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let Phase::Body { decoder, body, .. } = &mut self.phase else {
            return false;
        };
        let used = match decoder.decode(&self.inbuf, body.buf()) {
            Ok(used) => used,
            Err(error) => {
                self.refuse(self.body_head(), &error, ctx);
                return true;
            }
        };
        self.inbuf.drain(..used);
        let done = decoder.is_done();
        let in_memory = ctx.config.limits.body_in_memory;
        if let Err(e) = body.settle(in_memory, &ctx.config.spool_dir) {
            self.spool_failed(&e, ctx);
            return true;
        }
        if done {
            self.body_done(ctx);
            return true;
        }
        self.body_progress(used, ctx);
        used > 0
    }
    // ANCHOR_END: decode-body

    // ANCHOR: body-progress
    /// Bytes of the body arrived: they buy the client time, at the rate
    /// `BodyTimeout` asks for, up to its `stall`.
    fn body_progress(&mut self, bytes: usize, ctx: &mut Ctx<'_>) {
        if bytes == 0 {
            return;
        }
        let left = self
            .deadline
            .map(|at| at.saturating_duration_since(ctx.now));
        let left = ctx
            .config
            .body_timeout
            .after(left.unwrap_or_default(), bytes);
        self.set_deadline(Some(ctx.now + left), ctx);
    }
    // ANCHOR_END: body-progress

    /// The body is whole: run the request with it.
    fn body_done(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Body { head, body, .. } = &mut self.phase else {
            return;
        };
        if self.inbuf.is_empty() {
            // It carried a large body; the response needs none of it.
            self.inbuf = Vec::new();
        }
        let head = Arc::clone(head);
        match std::mem::take(body).finish() {
            Ok(body) => self.run(head, body, ctx),
            Err(e) => self.spool_failed(&e, ctx),
        }
    }

    /// The body could not be kept (disk full, no such directory): the
    /// client gets a 500, stderr the reason.
    fn spool_failed(&mut self, e: &io::Error, ctx: &mut Ctx<'_>) {
        let peer = self.info.remote_addr;
        log::stderr_line(&format!("{peer}: cannot spool the body: {e}"));
        let error = HttpError::new(500, "cannot keep the request body");
        self.refuse(self.body_head(), &error, ctx);
    }

    /// The request is complete: hand it to the dispatcher.
    fn run(
        &mut self,
        mut head: Arc<RequestHead>,
        body: RequestBody,
        ctx: &mut Ctx<'_>,
    ) {
        self.set_deadline(None, ctx);
        if self.close_after || ctx.draining {
            // This response is the connection's last, and must say so
            // (RFC 9112 §9.6): every dispatcher frames it by the head.
            Arc::make_mut(&mut head).keep_alive = false;
        }
        // Shared, not cloned: the dispatcher (maybe on another thread)
        // reads the request, and the log line needs it afterwards.
        let request = Request {
            head: Arc::clone(&head),
            body,
            info: self.info,
        };
        let output = ctx.dispatch.dispatch(self.id, request);
        self.respond(output, Some(head), ctx);
    }

    /// Answers with an error and closes after it.
    fn refuse(
        &mut self,
        head: Option<Arc<RequestHead>>,
        error: &HttpError,
        ctx: &mut Ctx<'_>,
    ) {
        trace!(ctx.log, self.id, "refuse {} {}", error.status, error.detail);
        // Built before `inbuf` is cleared: a refusal looks at what is left.
        let output: Box<dyn Output> =
            Box::new(Exchange::refusal(error, head.as_deref(), &self.inbuf));
        self.close_after = true;
        self.refused = true;
        self.inbuf = Vec::new();
        self.parser = RequestParser::new();
        self.set_deadline(None, ctx);
        self.respond(output, head, ctx);
    }

    /// Starts writing `output`; the request's `head`, if it was parsed,
    /// stays for the access-log line.
    fn respond(
        &mut self,
        output: Box<dyn Output>,
        head: Option<Arc<RequestHead>>,
        ctx: &mut Ctx<'_>,
    ) {
        let phase = Phase::Respond {
            output,
            head,
            produced: false,
            started: false,
        };
        self.enter(phase, ctx);
    }

    // ANCHOR: read
    /// Reads until the socket says `WouldBlock`, the only answer that
    /// clears `readable`. Returns `Ok(true)` if bytes arrived.
    fn read(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        if !self.readable {
            return Ok(false);
        }
        if self.read_closed {
            return self.after_eof(ctx);
        }
        if matches!(self.phase, Phase::Body { .. }) && !self.body_turn(ctx) {
            return Ok(false);
        }
        let mut got = false;
        loop {
            match self.stream.read(ctx.scratch) {
                Ok(0) => {
                    trace!(ctx.log, self.id, "read 0 bytes: end of stream");
                    self.read_closed = true;
                    if got {
                        return Ok(true); // serve what came before the FIN
                    }
                    return self.after_eof(ctx);
                }
                Ok(n) => {
                    trace!(ctx.log, self.id, "read {}", Bytes(n));
                    self.inbuf.extend_from_slice(&ctx.scratch[..n]);
                    got = true;
                    if n < ctx.scratch.len() && self.short_read_ends(ctx) {
                        return Ok(true); // never in Part 3: see below
                    }
                    // Don't let one connection buffer without bound; the
                    // parser will refuse what is too large anyway. A body
                    // goes to its decoder after every read, so that it is
                    // held once, in its spool, and not here as well.
                    let body = matches!(self.phase, Phase::Body { .. });
                    if body || self.inbuf.len() > ctx.config.max_inbuf() {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    trace!(ctx.log, self.id, "read would block");
                    self.readable = false;
                    return Ok(got);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Closed::Reason(e.to_string())),
            }
        }
    }
    // ANCHOR_END: read

    // ANCHOR: short-read
    /// After a read that filled less than the buffer: whether to take it
    /// for `WouldBlock`, as the dispatcher may allow. Not with a FIN
    /// waiting: its end of stream would bring no new event.
    fn short_read_ends(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.fin_ahead || !ctx.dispatch.short_reads() {
            return false;
        }
        trace!(ctx.log, self.id, "short read: taken for would block");
        self.readable = false;
        true
    }
    // ANCHOR_END: short-read

    // ANCHOR: body-turn
    /// Whether a piece of body may be read now. A body is read one piece
    /// per loop turn, so that one fast upload cannot keep the loop from
    /// everyone else for seconds (tokio gives each task a budget per tick
    /// for the same reason). Once this turn's piece is read, the loop is
    /// asked to come back next turn: bytes already waiting in the socket
    /// bring no new event.
    fn body_turn(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.body_turn != ctx.turn {
            self.body_turn = ctx.turn;
            self.come_back = false;
            return true;
        }
        if !self.come_back {
            self.come_back = true;
            ctx.again.push(self.id);
        }
        false
    }
    // ANCHOR_END: body-turn

    /// The client has shut its side and nothing more will come.
    fn after_eof(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        self.readable = false;
        match &self.phase {
            Phase::Idle => Err(Closed::Quiet("client closed")),
            Phase::Head => Err(Closed::Reason(
                "closed in the middle of a request head".into(),
            )),
            Phase::Body { .. } => {
                let error = HttpError::new(400, "body ended early");
                self.refuse(self.body_head(), &error, ctx);
                Ok(true)
            }
            Phase::Respond { .. } | Phase::Closing => Ok(false),
        }
    }
}
