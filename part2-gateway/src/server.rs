//! The blocking server of part 2: one connection at a time, a keep-alive
//! loop over the sans-I/O message layer, like Python's
//! `BaseHTTPRequestHandler.handle`.
//!
//! ```text
//! cargo run -p part2-gateway
//! curl -v http://127.0.0.1:8888/hello
//! curl -d 'Apples to Oranges!' http://127.0.0.1:8888/echo
//! ```

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use part1_hello::Handle;
use part1_hello::server::{is_timeout, linger_close};
use part1_hello::trace::Trace;

use crate::body::{BodyDecoder, BodyTimeout};
use crate::environ::{Environ, ServerInfo};
use crate::error::HttpError;
use crate::exchange::{Exchange, respond};
use crate::gateway::{App, SharedApp};
use crate::log;
use crate::request::{Limits, RequestHead, RequestParser, Version};
use crate::response::{CONTINUE, RequestFacts};

/// How the server treats connections.
#[derive(Debug, Clone)]
pub struct Config {
    /// Size limits on requests.
    pub limits: Limits,
    /// How long a request head may take once its first byte arrived;
    /// past it the client gets `408 Request Timeout`. Stops slowloris.
    pub request_timeout: Duration,
    /// How the body is timed after the head: by its progress, so an
    /// upload that keeps arriving is never cut off.
    pub body_timeout: BodyTimeout,
    /// How long an idle keep-alive connection is kept between requests.
    ///
    /// Short on purpose: this server serves one connection at a time,
    /// so an idle client blocks everyone else until it runs out.
    pub keep_alive_timeout: Duration,
    /// Print each request and response head (`< ` and `> ` lines).
    pub verbose: bool,
    /// Print one Common Log Format line per request.
    pub access_log: bool,
    /// `--trace`: print each connection's accept, reads, writes and
    /// close, as part 1 does.
    pub trace: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            request_timeout: Duration::from_secs(10),
            body_timeout: BodyTimeout::default(),
            keep_alive_timeout: Duration::from_secs(5),
            verbose: false,
            access_log: true,
            trace: false,
        }
    }
}

/// A listening socket, the app, and the settings.
pub struct Server {
    listener: TcpListener,
    app: SharedApp,
    config: Config,
}

impl Server {
    /// Binds a listening socket; port 0 asks the OS for any free port.
    pub fn bind(
        addr: impl ToSocketAddrs,
        app: SharedApp,
        config: Config,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        Ok(Server {
            listener,
            app,
            config,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections one after another until `stop` is set.
    pub fn run(&self, stop: &AtomicBool) {
        let mut accepted = 0;
        for stream in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => {
                    accepted += 1;
                    let trace = Trace::new(self.config.trace, accepted);
                    let conn =
                        Connection::new(stream, &*self.app, &self.config);
                    if let Err(reason) =
                        conn.and_then(|c| c.traced(trace).serve())
                    {
                        log::stderr_line(&format!(
                            "dropped connection: {reason}"
                        ));
                    }
                    trace.event(format_args!("close"));
                }
                Err(e) => log::stderr_line(&format!("accept failed: {e}")),
            }
        }
    }

    /// Serves on a new thread; the handle stops it.
    pub fn spawn(self) -> io::Result<Handle> {
        let addr = self.local_addr()?;
        Handle::spawn("part2-server", addr, move |stop| self.run(stop))
    }
}

/// One client connection and the bytes read from it but not yet used.
struct Connection<'a> {
    stream: TcpStream,
    info: ServerInfo,
    app: &'a dyn App,
    config: &'a Config,
    /// Bytes received and not yet parsed: the start of the next request
    /// when the client pipelines.
    buf: Vec<u8>,
    /// `--trace` lines for this connection, if on.
    trace: Trace,
}

/// Why a connection ended early, for the one log line it gets.
type Reason = String;

/// What became of reading one request head.
enum Next {
    Request(RequestHead),
    /// The client closed or went idle between requests (a quiet close),
    /// or the request was refused with an error already sent.
    Done,
}

impl<'a> Connection<'a> {
    fn new(
        stream: TcpStream,
        app: &'a dyn App,
        config: &'a Config,
    ) -> Result<Self, Reason> {
        let peer = stream.peer_addr().map_err(|e| e.to_string())?;
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        // Responses go out in one write each; don't let Nagle hold a
        // small one back waiting for an ACK.
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            stream,
            info: ServerInfo::new(local, peer),
            app,
            config,
            buf: Vec::with_capacity(4096),
            trace: Trace::OFF,
        })
    }

    /// The same connection, with `trace` printing its socket events.
    fn traced(self, trace: Trace) -> Self {
        trace.event(format_args!("accept {}", self.peer()));
        Connection { trace, ..self }
    }

    fn peer(&self) -> SocketAddr {
        self.info.remote_addr
    }

    // ANCHOR: keep-alive-loop
    /// Serves requests until either side ends the connection.
    fn serve(mut self) -> Result<(), Reason> {
        while let Next::Request(head) = self.read_head()? {
            if !self.serve_one(&head)? {
                break;
            }
        }
        linger_close(self.stream);
        Ok(())
    }
    // ANCHOR_END: keep-alive-loop

    /// Reads until a whole head is buffered, answering errors itself.
    fn read_head(&mut self) -> Result<Next, Reason> {
        let mut deadline = None;
        // Remembers how far it scanned, so a head that arrives in many
        // reads is looked at once.
        let mut parser = RequestParser::new();
        loop {
            match parser.parse(&self.buf, &self.config.limits) {
                Ok(Some((head, used))) => {
                    if self.config.verbose {
                        log::stdout_line(
                            log::dump_head(&self.buf[..used], "< ").trim_end(),
                        );
                    }
                    self.buf.drain(..used);
                    return Ok(Next::Request(head));
                }
                Ok(None) => {}
                Err(error) => {
                    self.refuse(None, &error)?;
                    return Ok(Next::Done);
                }
            }
            // Between requests we wait for the idle timeout; once a
            // request has begun, it must be whole by its deadline.
            let timeout = if self.buf.is_empty() {
                self.config.keep_alive_timeout
            } else {
                let d = *deadline.get_or_insert_with(|| {
                    Instant::now() + self.config.request_timeout
                });
                d.saturating_duration_since(Instant::now())
            };
            match self.fill_buf(timeout) {
                Ok(0) if self.buf.is_empty() => return Ok(Next::Done),
                Ok(0) => {
                    return Err(format!(
                        "{}: closed in the middle of a request head",
                        self.peer()
                    ));
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) && self.buf.is_empty() => {
                    return Ok(Next::Done);
                }
                Err(e) if is_timeout(&e) => {
                    let error = HttpError::new(408, "request head too slow");
                    self.refuse(None, &error)?;
                    return Ok(Next::Done);
                }
                Err(e) => return Err(format!("{}: {e}", self.peer())),
            }
        }
    }

    /// Reads what the socket has into `buf`, waiting at most `timeout`.
    fn fill_buf(&mut self, timeout: Duration) -> io::Result<usize> {
        // A zero timeout means "forever" to the OS; the deadline passed.
        if timeout.is_zero() {
            return Err(io::Error::from(ErrorKind::TimedOut));
        }
        self.stream.set_read_timeout(Some(timeout))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.trace.read(n);
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    // ANCHOR: serve-one
    /// Runs the app for one request and writes its response. Returns
    /// whether the connection may carry another request.
    fn serve_one(&mut self, head: &RequestHead) -> Result<bool, Reason> {
        let limits = &self.config.limits;
        let mut decoder = match BodyDecoder::with_limits(head.framing, limits) {
            Ok(decoder) => decoder,
            // Refused before the app runs and before any `100 Continue`:
            // the client that waits for it never sends the body.
            Err(error) => {
                self.refuse(Some(head), &error)?;
                return Ok(false);
            }
        };
        let mut input = InputState {
            continue_pending: head.expect_continue
                && head.version == Version::Http11
                && !decoder.is_done(),
            error: None,
            timeout: self.config.body_timeout,
            left: self.config.body_timeout.stall,
            trace: self.trace,
        };
        let facts = RequestFacts::of(head);
        let mut exchange = {
            let reader = BodyReader {
                stream: &mut self.stream,
                buf: &mut self.buf,
                decoder: &mut decoder,
                state: &mut input,
                decoded: Vec::new(),
                pos: 0,
            };
            let mut environ = Environ::from_request(head, &self.info, reader);
            respond(self.app, &mut environ, facts)
        };
        if let Some(error) = input.error {
            // The body itself was bad (or late): that is the answer.
            self.refuse(Some(head), &error)?;
            return Ok(false);
        }
        if !decoder.is_done() && !self.finish_body(&mut decoder, &mut input) {
            exchange.close_after();
        }
        self.write_exchange(head, &mut exchange)?;
        Ok(exchange.keep_alive())
    }
    // ANCHOR_END: serve-one

    /// The app did not read the whole body; read and drop the rest so the
    /// next request starts where it should. Returns false if the
    /// connection must close instead.
    fn finish_body(
        &mut self,
        decoder: &mut BodyDecoder,
        input: &mut InputState,
    ) -> bool {
        if input.continue_pending {
            // We never said "100 Continue", so the client may never send
            // the body; closing is the only way to stay in sync.
            return false;
        }
        let mut reader = BodyReader {
            stream: &mut self.stream,
            buf: &mut self.buf,
            decoder,
            state: input,
            decoded: Vec::new(),
            pos: 0,
        };
        io::copy(&mut reader, &mut io::sink()).is_ok()
    }

    // ANCHOR: write-exchange
    /// Writes the response in pieces as the exchange produces them.
    fn write_exchange(
        &mut self,
        head: &RequestHead,
        exchange: &mut Exchange,
    ) -> Result<(), Reason> {
        let mut out = Vec::with_capacity(64 * 1024);
        let mut first = true;
        loop {
            out.clear();
            let more = exchange.fill(&mut out, 64 * 1024);
            if first && self.config.verbose {
                log::stdout_line(log::dump_head(&out, "> ").trim_end());
            }
            first = false;
            if let Err(e) = self.stream.write_all(&out) {
                self.log_request(Some(head), exchange);
                return Err(format!("{}: while writing: {e}", self.peer()));
            }
            self.trace.wrote(out.len());
            if !more {
                break;
            }
        }
        self.log_request(Some(head), exchange);
        Ok(())
    }
    // ANCHOR_END: write-exchange

    /// Answers with an error status; the connection closes after it.
    fn refuse(
        &mut self,
        head: Option<&RequestHead>,
        error: &HttpError,
    ) -> Result<(), Reason> {
        let mut exchange = Exchange::refusal(error, head, &self.buf);
        let mut out = Vec::new();
        exchange.fill(&mut out, usize::MAX);
        if self.config.verbose {
            log::stdout_line(log::dump_head(&out, "> ").trim_end());
        }
        self.log_request(head, &exchange);
        self.stream
            .write_all(&out)
            .map_err(|e| format!("{}: while refusing: {e}", self.peer()))?;
        self.trace.wrote(out.len());
        Ok(())
    }

    fn log_request(&self, head: Option<&RequestHead>, exchange: &Exchange) {
        if let Some(problem) = exchange.problem() {
            log::stderr_line(&format!("{}: {problem}", self.peer()));
        }
        if self.config.access_log {
            log::stdout_line(&log::access_line(
                self.peer().ip(),
                head,
                exchange.status(),
                exchange.body_bytes(),
            ));
        }
    }
}

/// What the body reader learned, kept after the app is done with it.
struct InputState {
    /// `100 Continue` is owed before the first read from the socket.
    continue_pending: bool,
    /// The body was malformed, too large or too slow.
    error: Option<HttpError>,
    /// How the body is timed.
    timeout: BodyTimeout,
    /// How long the client may still take to send more of it.
    left: Duration,
    /// The connection's `--trace`, for the body's reads.
    trace: Trace,
}

// ANCHOR: body-reader
/// `wsgi.input` for the blocking server: decodes the body from bytes
/// already buffered, then from the socket, as the app reads. The first
/// read that needs the socket sends `100 Continue` if the client asked.
struct BodyReader<'s> {
    stream: &'s mut TcpStream,
    buf: &'s mut Vec<u8>,
    decoder: &'s mut BodyDecoder,
    state: &'s mut InputState,
    /// Decoded body bytes not yet handed to the app.
    decoded: Vec<u8>,
    pos: usize,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.decoded.len() {
                let n = out.len().min(self.decoded.len() - self.pos);
                out[..n].copy_from_slice(&self.decoded[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.decoder.is_done() {
                return Ok(0);
            }
            self.decoded.clear();
            self.pos = 0;
            if !self.buf.is_empty() {
                let used = self
                    .decoder
                    .decode(self.buf, &mut self.decoded)
                    .map_err(|e| self.fail(e))?;
                self.buf.drain(..used);
                if used > 0 || !self.decoded.is_empty() {
                    continue;
                }
            }
            if self.state.continue_pending {
                self.state.continue_pending = false;
                self.stream.write_all(CONTINUE)?;
                self.state.trace.wrote(CONTINUE.len());
            }
            self.read_socket()?;
        }
    }
}
// ANCHOR_END: body-reader

impl BodyReader<'_> {
    /// Records why the body failed and turns it into an I/O error for
    /// the app.
    fn fail(&mut self, error: HttpError) -> io::Error {
        self.state.error = Some(error);
        io::Error::new(ErrorKind::InvalidData, error.to_string())
    }

    /// Reads more of the body from the socket, waiting at most the time
    /// the client has left. Only that wait counts against the client,
    /// not the app's own time between reads.
    fn read_socket(&mut self) -> io::Result<()> {
        let left = self.state.left;
        if left.is_zero() {
            return Err(self.fail(HttpError::new(408, "request body too slow")));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        let waiting = Instant::now();
        let read = self.stream.read(&mut chunk);
        let left = left.saturating_sub(waiting.elapsed());
        match read {
            Ok(0) => Err(self.fail(HttpError::new(400, "body ended early"))),
            Ok(n) => {
                self.state.left = self.state.timeout.after(left, n);
                self.state.trace.read(n);
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                self.state.left = left;
                Ok(())
            }
            Err(e) if is_timeout(&e) => {
                Err(self.fail(HttpError::new(408, "request body too slow")))
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
