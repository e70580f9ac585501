//! The readiness loop: one thread, one `mio::Poll`, every socket.
//!
//! Try it, with two clients at once:
//!
//! ```text
//! cargo run -p part3-selectors
//! telnet 127.0.0.1 8888          # type slowly: GET / HTTP/1.1, Host: x, Enter
//! curl -v http://127.0.0.1:8888/hello   # answered while telnet is typing
//! ```

use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use part2_gateway::body::BodyTimeout;
use part2_gateway::environ::ServerInfo;
use part2_gateway::log;
use part2_gateway::request::Limits;

use crate::connection::{Closed, ConnId, Connection, Ctx};
use crate::dispatch::Dispatch;
use crate::timer::Timers;
use crate::trace::{Log, trace};

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct Config {
    /// Size limits on requests.
    pub limits: Limits,
    /// How long a request head may take from its first byte; then 408
    /// and close. Stops slowloris.
    pub request_timeout: Duration,
    /// How the body is timed after the head: by its progress, so an
    /// upload that keeps arriving is never cut off (see [`BodyTimeout`]).
    pub body_timeout: BodyTimeout,
    /// Where a body larger than `limits.body_in_memory` waits for the
    /// app, in a file of its own.
    pub spool_dir: PathBuf,
    /// How long an idle keep-alive connection is kept.
    pub idle_timeout: Duration,
    /// How long a response may wait on a client that does not read.
    pub write_timeout: Duration,
    /// How long we wait for the client to close after our last response.
    pub linger_timeout: Duration,
    /// The most connections served at once; past it, new ones get 503.
    pub max_connections: usize,
    /// Print every request and response head.
    pub verbose: bool,
    /// Print one Common Log Format line per request.
    pub access_log: bool,
    /// Print a line per readiness event and change of phase (`--trace`).
    pub trace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            request_timeout: Duration::from_secs(10),
            body_timeout: BodyTimeout::default(),
            spool_dir: std::env::temp_dir(),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            linger_timeout: Duration::from_secs(2),
            max_connections: 20_000,
            verbose: false,
            access_log: true,
            trace: false,
        }
    }
}

impl Config {
    /// The most a connection buffers before the parser has its say.
    pub fn max_inbuf(&self) -> usize {
        self.limits.max_head + 64 * 1024
    }
}

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const SIGNALS: Token = Token(usize::MAX - 3);

/// What [`EventLoop::run`] hears Ctrl-C from: SIGINT and SIGTERM on
/// Unix, the console's Ctrl-C on Windows.
#[cfg(unix)]
pub type Signals = signal_hook_mio::v1_0::Signals;
#[cfg(windows)]
pub use crate::ctrl_c::Signals;

/// How many finished handshakes the kernel may queue for `accept`.
///
/// std's and mio's `bind` both ask for 128. A burst of a thousand
/// connects overflows that queue; the kernel then drops the extra SYNs
/// and each of those clients waits a whole second to retry. Linux caps
/// the value at `net.core.somaxconn` (4096 on current kernels).
pub const BACKLOG: i32 = 1024;

// ANCHOR: listen
/// socket(), bind() and listen() by hand, for a backlog of our choosing.
pub fn listen(
    addr: SocketAddr,
    backlog: i32,
) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // Restarting the server must not fail while old connections of the
    // previous run linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}
// ANCHOR_END: listen

/// How long accepting pauses after the process ran out of descriptors.
const EMFILE_PAUSE: Duration = Duration::from_millis(100);

/// The answer for connections beyond `max_connections`.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain\r\nContent-Length: 20\r\nRetry-After: 1\r\n\
Connection: close\r\n\r\n503 Server is full\r\n";

// ANCHOR: slab
/// A slab: connections stored by slot, free slots reused. The slot is
/// the connection's `mio::Token`.
#[derive(Default)]
struct Slab {
    slots: Vec<Option<Connection>>,
    free: Vec<usize>,
    len: usize,
}

impl Slab {
    fn len(&self) -> usize {
        self.len
    }

    fn vacant(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        })
    }

    fn insert(&mut self, slot: usize, conn: Connection) {
        self.slots[slot] = Some(conn);
        self.len += 1;
    }

    /// Whoever is in `slot` now: for a poller event, which names a slot.
    fn slot_mut(&mut self, slot: usize) -> Option<&mut Connection> {
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Connection `id`, unless it closed and its slot went to another.
    fn get_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        self.slot_mut(id.slot).filter(|c| c.id.serial == id.serial)
    }

    fn remove(&mut self, slot: usize) -> Option<Connection> {
        let conn = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(conn)
    }

    fn ids(&self) -> Vec<ConnId> {
        self.slots.iter().flatten().map(|c| c.id).collect()
    }
}
// ANCHOR_END: slab

/// A stop switch for a loop running elsewhere.
#[derive(Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    /// Asks the loop to drain and stop.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// The loop, its listener and its connections.
pub struct EventLoop<D: Dispatch> {
    poll: Poll,
    listener: TcpListener,
    local: SocketAddr,
    dispatch: D,
    config: Config,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    conns: Slab,
    timers: Timers,
    serial: u64,
    /// Accepting is paused: the slab is full, or until this instant
    /// after `EMFILE`.
    accept_paused: bool,
    accept_resume_at: Option<Instant>,
    draining: Option<Instant>,
    /// The dispatcher asked to be called again this soon (`turn_end`).
    dispatch_again: Option<Duration>,
    /// One read buffer lent to every connection in turn.
    scratch: Vec<u8>,
    /// Turns so far.
    turn: u64,
    /// Connections to drive next turn, event or not (`Ctx::again`).
    again: Vec<ConnId>,
    /// This turn's stdout lines.
    log: Log,
}

impl<D: Dispatch> EventLoop<D> {
    /// Binds `addr` and prepares the loop.
    // ANCHOR: bind
    pub fn bind(
        addr: SocketAddr,
        mut dispatch: D,
        config: Config,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::from_std(listen(addr, BACKLOG)?);
        poll.registry().register(
            &mut listener,
            LISTENER,
            Interest::READABLE,
        )?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        dispatch.attach(Arc::clone(&waker));
        let log = Log::new(config.trace);
        if let Some(tracer) = log.tracer() {
            dispatch.trace_to(tracer);
        }
        Ok(EventLoop {
            local: listener.local_addr()?,
            poll,
            listener,
            dispatch,
            config,
            waker,
            stop: Arc::new(AtomicBool::new(false)),
            conns: Slab::default(),
            timers: Timers::new(),
            serial: 0,
            accept_paused: false,
            accept_resume_at: None,
            draining: None,
            dispatch_again: None,
            scratch: vec![0u8; 64 * 1024],
            turn: 0,
            again: Vec::new(),
            log,
        })
    }
    // ANCHOR_END: bind

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A switch that stops this loop from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            flag: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    // ANCHOR: signals
    /// Stops on SIGINT or SIGTERM too (for the binaries).
    #[cfg(unix)]
    pub fn stop_on_signals(
        &mut self,
    ) -> io::Result<signal_hook_mio::v1_0::Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals =
            signal_hook_mio::v1_0::Signals::new([SIGINT, SIGTERM])?;
        self.poll.registry().register(
            &mut signals,
            SIGNALS,
            Interest::READABLE,
        )?;
        Ok(signals)
    }
    // ANCHOR_END: signals

    /// Stops on Ctrl-C too (for the binaries): Windows has no signals,
    /// but its console's Ctrl-C arrives the same way ([`crate::ctrl_c`]).
    #[cfg(windows)]
    pub fn stop_on_signals(&mut self) -> io::Result<Signals> {
        let mut signals = Signals::new()?;
        self.poll.registry().register(
            &mut signals,
            SIGNALS,
            Interest::READABLE,
        )?;
        Ok(signals)
    }

    /// Runs until stopped; with `signals`, also until SIGINT/SIGTERM.
    /// A graceful stop finishes responses in flight for up to
    /// `shutdown_timeout`, then returns.
    // ANCHOR: run
    pub fn run(
        &mut self,
        mut signals: Option<&mut Signals>,
        shutdown_timeout: Duration,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut ready = Vec::new();
        loop {
            let now = Instant::now();
            let timeout = self.poll_timeout(now);
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                // A signal arrived during epoll_wait: just poll again.
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            self.turn += 1;
            // Those that stopped reading last turn to let others read.
            ready.append(&mut self.again);
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => {
                        if self.stop.load(Ordering::SeqCst) {
                            self.begin_drain(now, shutdown_timeout);
                        }
                    }
                    SIGNALS => {
                        if let Some(signals) = signals.as_deref_mut()
                            && signals.pending().next().is_some()
                        {
                            if self.draining.is_some() {
                                return Ok(()); // second Ctrl-C: now
                            }
                            self.begin_drain(now, shutdown_timeout);
                        }
                    }
                    Token(slot) => {
                        let Some(conn) = self.conns.slot_mut(slot) else {
                            continue; // closed earlier in this batch
                        };
                        trace!(self.log, conn.id, "{}", Readiness(event));
                        // The end of the stream is read like bytes are.
                        if event.is_readable() || event.is_read_closed() {
                            conn.ready(event.is_read_closed());
                        }
                        ready.push(conn.id);
                    }
                }
            }
            // ANCHOR_END: run
            // ANCHOR: run-turn
            // Responses produced elsewhere may have news.
            self.dispatch.woken(&mut ready);
            for id in ready.drain(..) {
                self.with_conn(id, now, Connection::drive);
            }
            self.expire_timers(now);
            if self.accept_paused && self.can_accept(now) {
                self.accept(now);
            }
            self.dispatch_again = self.dispatch.turn_end();
            self.log.flush();
            if let Some(deadline) = self.draining
                && ((self.conns.len() == 0 && !self.dispatch.busy())
                    || now >= deadline)
            {
                return Ok(());
            }
        }
    }
    // ANCHOR_END: run-turn

    /// How long `poll` may sleep: until the earliest timer entry, an
    /// accept pause, the drain deadline or the dispatcher's wish; not at
    /// all while a connection waits for its next turn to read.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        // The earliest entry may be stale: an answered request leaves its
        // request deadline queued before the idle one, and waking for it
        // costs a turn that only queues the idle deadline again.
        let timers = self.timers.next_timeout(now);
        let resume = self
            .accept_resume_at
            .map(|at| at.saturating_duration_since(now));
        let drain = self.draining.map(|at| at.saturating_duration_since(now));
        let again = (!self.again.is_empty()).then_some(Duration::ZERO);
        [timers, resume, drain, self.dispatch_again, again]
            .into_iter()
            .flatten()
            .min()
    }

    fn can_accept(&mut self, now: Instant) -> bool {
        if self.draining.is_some() {
            return false;
        }
        if let Some(at) = self.accept_resume_at {
            if now < at {
                return false;
            }
            self.accept_resume_at = None;
        }
        true
    }

    // ANCHOR: accept
    /// Accepts every pending connection: readiness is edge-triggered, so
    /// we are told once for a whole burst and must drain it.
    fn accept(&mut self, now: Instant) {
        if !self.can_accept(now) {
            self.accept_paused = true;
            return;
        }
        self.accept_paused = false;
        loop {
            if self.conns.len() >= self.config.max_connections {
                // Full: one waiting client per turn hears why (503);
                // the others wait in the backlog until a slot frees.
                self.accept_paused = true;
                self.turn_away();
                return;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.add(stream, peer, now),
                // The backlog is empty: done until the next event.
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // Interrupted by a signal: try again.
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // The client gave up while waiting in the backlog.
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                // The same, as Windows says it (WSAECONNRESET).
                Err(e) if e.kind() == ErrorKind::ConnectionReset => continue,
                // Out of file descriptors (EMFILE, ENFILE): the listener
                // stays readable, so retrying now would spin at 100% CPU.
                // Pause instead; closing connections frees descriptors.
                Err(e) => {
                    log::stderr_line(&format!("accept failed: {e}; pausing"));
                    self.accept_paused = true;
                    self.accept_resume_at = Some(now + EMFILE_PAUSE);
                    return;
                }
            }
        }
    }

    /// Accepts one client to answer 503 and close.
    fn turn_away(&mut self) {
        let Ok((mut stream, peer)) = self.listener.accept() else {
            return;
        };
        self.serial += 1;
        // No slot: it is answered and dropped right here.
        let id = ConnId {
            slot: usize::MAX,
            serial: self.serial,
        };
        trace!(self.log, id, "accept {peer}");
        // Take in what the client sent first: closing with unread
        // bytes sends a reset that can destroy the 503.
        let _ = std::io::Read::read(&mut stream, &mut self.scratch);
        let _ = stream.write(BUSY);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        trace!(self.log, id, "close: server full, answered 503");
    }
    // ANCHOR_END: accept

    fn add(
        &mut self,
        stream: mio::net::TcpStream,
        peer: SocketAddr,
        now: Instant,
    ) {
        let slot = self.conns.vacant();
        self.serial += 1;
        let id = ConnId {
            slot,
            serial: self.serial,
        };
        trace!(self.log, id, "accept {peer}");
        let info = ServerInfo::new(self.local, peer);
        self.conns.insert(slot, Connection::new(id, stream, info));
        // Its request is often there already: don't wait a turn.
        self.with_conn(id, now, |c, ctx| {
            c.start(ctx)?;
            c.drive(ctx)
        });
    }

    /// Runs `f` on connection `id` and closes it if `f` says so.
    fn with_conn(
        &mut self,
        id: ConnId,
        now: Instant,
        f: impl FnOnce(&mut Connection, &mut Ctx<'_>) -> Result<(), Closed>,
    ) {
        let Some(conn) = self.conns.get_mut(id) else {
            return; // closed already, or the slot was reused
        };
        let mut ctx = Ctx {
            config: &self.config,
            timers: &mut self.timers,
            dispatch: &mut self.dispatch,
            scratch: &mut self.scratch,
            log: &mut self.log,
            registry: self.poll.registry(),
            now,
            turn: self.turn,
            again: &mut self.again,
            draining: self.draining.is_some(),
        };
        if let Err(closed) = f(conn, &mut ctx) {
            self.close(id, &closed, now);
        }
    }

    /// Drops connection `id`; a reason worth it gets a line on stderr.
    fn close(&mut self, id: ConnId, closed: &Closed, now: Instant) {
        let Some(mut conn) = self.conns.remove(id.slot) else {
            return;
        };
        if let Closed::Reason(reason) = closed {
            let peer = conn.peer();
            log::stderr_line(&format!("dropped connection: {peer}: {reason}"));
        }
        trace!(self.log, id, "close: {closed}");
        conn.deregister(self.poll.registry());
        // A slot is free: a client waiting in the backlog may have it.
        if self.accept_paused {
            self.accept(now);
        }
    }

    // ANCHOR: expire
    /// Looks only at the deadlines that are due, earliest first.
    fn expire_timers(&mut self, now: Instant) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            self.with_conn(id, now, |c, ctx| c.on_timer(at, ctx));
        }
    }
    // ANCHOR_END: expire

    // ANCHOR: drain
    /// Stops accepting, closes idle connections, and lets the others
    /// finish their current response.
    fn begin_drain(&mut self, now: Instant, timeout: Duration) {
        if self.draining.is_some() {
            return;
        }
        self.draining = Some(now + timeout);
        let _ = self.poll.registry().deregister(&mut self.listener);
        for id in self.conns.ids() {
            if let Some(conn) = self.conns.get_mut(id) {
                if conn.is_idle() {
                    self.close(id, &Closed::Quiet("shutting down"), now);
                } else {
                    conn.close_after_response();
                }
            }
        }
    }
    // ANCHOR_END: drain

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Runs on a new thread; the handle stops it.
    pub fn spawn(mut self) -> io::Result<Handle>
    where
        D: Send + 'static,
    {
        let addr = self.local_addr();
        let stopper = self.stopper();
        let thread = thread::Builder::new().name("event-loop".into()).spawn(
            move || {
                if let Err(e) = self.run(None, Duration::from_secs(5)) {
                    log::stderr_line(&format!("event loop failed: {e}"));
                }
            },
        )?;
        Ok(Handle {
            addr,
            stopper,
            thread: Some(thread),
        })
    }
}

/// `--trace`: what the poller said about a connection, e.g. `readable`
/// or `readable (read closed)`.
struct Readiness<'a>(&'a Event);

impl std::fmt::Display for Readiness<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let event = self.0;
        let readable = event.is_readable() || event.is_read_closed();
        f.write_str(match (readable, event.is_writable()) {
            (true, true) => "readable writable",
            (true, false) => "readable",
            (false, true) => "writable",
            (false, false) => "event",
        })?;
        if event.is_read_closed() {
            f.write_str(" (read closed)")?;
        }
        Ok(())
    }
}

/// A loop running on its own thread; dropping it stops the loop.
pub struct Handle {
    addr: SocketAddr,
    stopper: Stopper,
    thread: Option<JoinHandle<()>>,
}

impl Handle {
    /// Where the loop listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the loop gracefully and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopper.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
