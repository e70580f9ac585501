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

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use part2_gateway::body::BodyDecoder;
use part2_gateway::environ::ServerInfo;
use part2_gateway::error::HttpError;
use part2_gateway::exchange::Exchange;
use part2_gateway::log;
use part2_gateway::request::{RequestHead, RequestParser, Version};
use part2_gateway::response::CONTINUE;

use crate::dispatch::{Dispatch, Output, Progress, Request};
use crate::event_loop::Config;
use crate::timer::{ConnId, Timers};

/// How much response the loop prepares before writing it.
const OUT_CHUNK: usize = 64 * 1024;

// ANCHOR: phase
/// Where a connection is in its request/response cycle.
enum Phase {
    /// Between requests: nothing buffered, waiting for the first byte.
    Idle,
    /// Part of a request head has arrived.
    Head,
    /// The head is parsed; the body is being decoded.
    Body {
        head: Arc<RequestHead>,
        decoder: BodyDecoder,
        body: Vec<u8>,
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

/// Why a connection ended, for the log line dropped connections get.
#[derive(Debug)]
pub enum Closed {
    /// An ordinary end: the client closed, or keep-alive ended.
    Quiet,
    /// Something worth a log line.
    Reason(String),
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
    /// Access-log lines, written once per loop turn.
    pub log: &'a mut String,
    /// For switching interest on and off.
    pub registry: &'a Registry,
    /// The time this loop turn started.
    pub now: Instant,
    /// The loop is shutting down: finish what is in flight, keep nothing.
    pub draining: bool,
    /// Heads of finished requests, for new ones to be parsed into.
    pub spare_heads: &'a mut Vec<Arc<RequestHead>>,
}

/// How many finished heads the loop keeps for reuse.
///
/// A head is half a dozen small allocations (its strings, its list of
/// headers). Part 3 frees each one in the same turn it was made, which
/// `malloc` serves from a small per-thread cache; part 4 frees a whole
/// turn's heads a turn later, more than that cache holds. Parsing into
/// the heads of earlier requests skips `malloc` for both, and a bound
/// keeps the memory they hold small.
pub const SPARE_HEADS: usize = 64;

impl Ctx<'_> {
    /// A head to parse the next request into: a spare, or a new one.
    fn spare_head(&mut self) -> Arc<RequestHead> {
        self.spare_heads.pop().unwrap_or_default()
    }

    /// Keeps a finished request's head for reuse, if nobody else still
    /// holds it (part 4's worker may) and the spares are not full.
    fn recycle_head(&mut self, mut head: Arc<RequestHead>) {
        if self.spare_heads.len() < SPARE_HEADS
            && Arc::get_mut(&mut head).is_some()
        {
            self.spare_heads.push(head);
        }
    }
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
    /// The socket may have bytes we have not read (edge-triggered
    /// readiness tells us once; we remember it).
    readable: bool,
    /// The client shut its side (read returned 0).
    read_closed: bool,
    /// The poller said the client shut its side; read until we see it.
    fin_pending: bool,
    /// Close after the current response, whatever keep-alive says.
    close_after: bool,
    /// We refused the request (an error status): the client may still be
    /// sending, so the close must linger.
    refused: bool,
    /// Whether WRITABLE interest is on.
    want_write: bool,
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
            fin_pending: false,
            close_after: false,
            refused: false,
            want_write: false,
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
            return Err(self.io_closed(&format!("cannot register: {e}")));
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

    /// The loop saw readiness on this socket.
    pub fn ready(&mut self, readable: bool, read_closed: bool) {
        self.readable |= readable || read_closed;
        self.fin_pending |= read_closed;
    }

    /// Ends keep-alive: the current response is the last.
    pub fn close_after_response(&mut self) {
        self.close_after = true;
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
            Phase::Idle => Err(Closed::Quiet),
            Phase::Head | Phase::Body { .. } => {
                // A slowloris ends here: 408, then close.
                let error = HttpError::new(408, "request not complete in time");
                self.refuse(None, &error, ctx);
                self.drive(ctx)
            }
            Phase::Respond { .. } => Err(Closed::Reason(format!(
                "{}: write stalled, client not reading",
                self.peer()
            ))),
            Phase::Closing => Err(Closed::Quiet),
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
                Ok(0) => return Err(self.io_closed("write returned 0")),
                Ok(n) => {
                    self.out_pos += n;
                    if self.want_write {
                        // Progress: the stall clock starts again.
                        let at = ctx.now + ctx.config.write_timeout;
                        self.set_deadline(Some(at), ctx);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
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
                Err(e) => return Err(self.io_closed(&e.to_string())),
            }
        }
        self.outbuf.clear();
        self.out_pos = 0;
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
                    ctx.log.push_str(&dump);
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
            log::push_access_line(
                ctx.log,
                self.info.remote_addr.ip(),
                head.as_deref(),
                output.status(),
                output.body_bytes(),
            );
            ctx.log.push('\n');
        }
        if let Some(head) = head.take() {
            ctx.recycle_head(head);
        }
        if keep {
            self.phase = Phase::Idle;
            self.enter_idle(ctx);
        } else if self.inbuf.is_empty() && !self.readable && !self.refused {
            // Everything the client sent has been read and answered: a
            // plain close cannot turn into a reset, so skip the linger
            // (nginx makes the same guess).
            return Err(Closed::Quiet);
        } else {
            self.start_closing(ctx);
        }
        Ok(true)
    }

    // ANCHOR: enter-idle
    /// Back between requests: give the buffers back if nothing is
    /// pipelined, so 10,000 idle connections cost little memory.
    fn enter_idle(&mut self, ctx: &mut Ctx<'_>) {
        if self.inbuf.is_empty() {
            self.inbuf = Vec::new();
            self.set_deadline(Some(ctx.now + ctx.config.idle_timeout), ctx);
        } else {
            self.phase = Phase::Head;
            let at = ctx.now + ctx.config.request_timeout;
            self.set_deadline(Some(at), ctx);
        }
        self.outbuf = Vec::new();
        self.out_pos = 0;
    }
    // ANCHOR_END: enter-idle

    // ANCHOR: closing
    fn start_closing(&mut self, ctx: &mut Ctx<'_>) {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.phase = Phase::Closing;
        self.inbuf = Vec::new();
        self.set_deadline(Some(ctx.now + ctx.config.linger_timeout), ctx);
    }

    /// Reads and drops whatever the client still sends until it closes.
    fn linger(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Closed> {
        loop {
            match self.stream.read(ctx.scratch) {
                Ok(0) => return Err(Closed::Quiet),
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Err(Closed::Quiet),
            }
        }
    }
    // ANCHOR_END: closing

    // ANCHOR: parse
    /// Advances the request in `inbuf` as far as the bytes allow.
    /// Returns whether anything changed.
    fn parse(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match &mut self.phase {
            Phase::Idle | Phase::Head => {
                if self.inbuf.is_empty() {
                    return false;
                }
                let limits = &ctx.config.limits;
                let mut head = ctx.spare_head();
                let into = Arc::make_mut(&mut head);
                match self.parser.parse_into(&self.inbuf, limits, into) {
                    Ok(None) => {
                        ctx.recycle_head(head);
                        if matches!(self.phase, Phase::Idle) {
                            // The first bytes of a request: its clock starts.
                            self.phase = Phase::Head;
                            let at = ctx.now + ctx.config.request_timeout;
                            self.set_deadline(Some(at), ctx);
                        }
                        false
                    }
                    Ok(Some(used)) => {
                        if ctx.config.verbose {
                            let dump =
                                log::dump_head(&self.inbuf[..used], "< ");
                            ctx.log.push_str(&dump);
                        }
                        self.inbuf.drain(..used);
                        if matches!(self.phase, Phase::Idle) {
                            let at = ctx.now + ctx.config.request_timeout;
                            self.set_deadline(Some(at), ctx);
                        }
                        self.start_body(head, ctx);
                        true
                    }
                    Err(error) => {
                        ctx.recycle_head(head);
                        self.refuse(None, &error, ctx);
                        true
                    }
                }
            }
            Phase::Body { decoder, body, .. } => {
                if self.inbuf.is_empty() && !decoder.is_done() {
                    return false;
                }
                match decoder.decode(&self.inbuf, body) {
                    Ok(used) => {
                        self.inbuf.drain(..used);
                        if decoder.is_done() {
                            self.run(ctx);
                            return true;
                        }
                        used > 0
                    }
                    Err(error) => {
                        let head = self.take_head();
                        self.refuse(head, &error, ctx);
                        true
                    }
                }
            }
            Phase::Respond { .. } | Phase::Closing => false,
        }
    }
    // ANCHOR_END: parse

    fn take_head(&mut self) -> Option<Arc<RequestHead>> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Body { head, .. } => Some(head),
            _ => None,
        }
    }

    // ANCHOR: start-body
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
        let wants_continue = head.expect_continue
            && head.version == Version::Http11
            && !decoder.is_done()
            && self.inbuf.is_empty();
        if wants_continue {
            // We are about to read the body: say so. (Part 2 waits until
            // the app reads; here the body is read before the app runs.)
            self.outbuf.extend_from_slice(CONTINUE);
        }
        self.phase = Phase::Body {
            head,
            decoder,
            body: Vec::new(),
        };
    }
    // ANCHOR_END: start-body

    /// The request is complete: hand it to the dispatcher.
    fn run(&mut self, ctx: &mut Ctx<'_>) {
        let Phase::Body { head, body, .. } =
            std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return;
        };
        self.set_deadline(None, ctx);
        // Shared, not cloned: the dispatcher (maybe on another thread)
        // reads the request, and the log line needs it afterwards.
        let request = Request {
            head: Arc::clone(&head),
            body,
            info: self.info,
        };
        let output = ctx.dispatch.dispatch(self.id, request);
        self.phase = Phase::Respond {
            output,
            head: Some(head),
            produced: false,
            started: false,
        };
    }

    /// Answers with an error and closes after it.
    fn refuse(
        &mut self,
        head: Option<Arc<RequestHead>>,
        error: &HttpError,
        ctx: &mut Ctx<'_>,
    ) {
        let output = Exchange::refusal(error, head.as_deref(), &self.inbuf);
        self.close_after = true;
        self.refused = true;
        self.inbuf = Vec::new();
        self.parser = RequestParser::new();
        self.set_deadline(None, ctx);
        self.phase = Phase::Respond {
            output: Box::new(output),
            head,
            produced: false,
            started: false,
        };
    }

    // ANCHOR: read
    /// Reads what the socket has. Returns `Ok(true)` if bytes arrived.
    fn read(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        if !self.readable {
            return Ok(false);
        }
        if self.read_closed {
            return self.after_eof(ctx);
        }
        let mut got = false;
        loop {
            match self.stream.read(ctx.scratch) {
                Ok(0) => {
                    self.read_closed = true;
                    if got {
                        return Ok(true); // serve what came before the FIN
                    }
                    return self.after_eof(ctx);
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&ctx.scratch[..n]);
                    got = true;
                    if n < ctx.scratch.len() && !self.fin_pending {
                        // A short read emptied the socket's buffer, and
                        // with edge-triggered readiness bytes arriving
                        // later raise a new event: skip the read that
                        // would only say WouldBlock (one syscall less per
                        // request). Not after a FIN: we must read the 0.
                        self.readable = false;
                        return Ok(true);
                    }
                    // Don't let one connection buffer without bound; the
                    // parser will refuse what is too large anyway.
                    if self.inbuf.len() > ctx.config.max_inbuf() {
                        return Ok(true);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(got);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_closed(&e.to_string())),
            }
        }
    }
    // ANCHOR_END: read

    /// The client has shut its side and nothing more will come.
    fn after_eof(&mut self, ctx: &mut Ctx<'_>) -> Result<bool, Closed> {
        self.readable = false;
        match &self.phase {
            Phase::Idle if self.inbuf.is_empty() => Err(Closed::Quiet),
            Phase::Idle | Phase::Head => Err(Closed::Reason(format!(
                "{}: closed in the middle of a request head",
                self.peer()
            ))),
            Phase::Body { .. } => {
                let head = self.take_head();
                let error = HttpError::new(400, "body ended early");
                self.refuse(head, &error, ctx);
                Ok(true)
            }
            Phase::Respond { .. } | Phase::Closing => Ok(false),
        }
    }

    fn io_closed(&self, what: &str) -> Closed {
        Closed::Reason(format!("{}: {what}", self.peer()))
    }
}
