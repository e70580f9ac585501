//! One client connection: timeouts on everything, checked responses,
//! and a transcript of both directions.
//!
//! Misbehaving clients meet misbehaving servers, so nothing here trusts
//! the other side: every read and write has a timeout, a whole response
//! has a deadline, and every response goes through the validator before
//! anyone looks at it.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::wire::{self, Malformed, Response};

/// The most response bytes we buffer: past this, a server that keeps
/// talking is cut off instead of filling our memory.
const MAX_BUFFER: usize = 16 * 1024 * 1024;

/// A server answer that broke HTTP/1.1, with the bytes to show it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAnswer {
    /// The received bytes the offsets of `problem` refer to.
    pub raw: Vec<u8>,
    /// What is wrong, and where.
    pub problem: Malformed,
}

impl std::fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem.render(&self.raw))
    }
}

/// How an attempt to read a response ended.
#[derive(Debug)]
pub enum Reply {
    /// A whole, valid response.
    Response(Response),
    /// The server closed without sending anything (more).
    Closed,
    /// Nothing (or only part of a response) came within the timeout;
    /// the bytes that did come are kept.
    TimedOut(Vec<u8>),
    /// The read failed, e.g. a reset from the server.
    Failed(io::Error),
}

/// How a connection ended, as far as we could tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The server closed it cleanly (we read end-of-stream).
    Closed,
    /// It was still open when we stopped waiting.
    StillOpen,
    /// A read or write failed, e.g. `connection reset by peer`.
    Failed(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Closed => f.write_str("the server closed the connection"),
            End::StillOpen => f.write_str("the connection was still open"),
            End::Failed(e) => write!(f, "the connection failed: {e}"),
        }
    }
}

/// Whether an I/O error is a timeout: std reports `WouldBlock` or
/// `TimedOut` depending on the platform.
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Connects to `addr` with every timeout set to `timeout`.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// A connection that reads checked responses and remembers what is
/// left over after them.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
    timeout: Duration,
}

impl Conn {
    /// Connects to `addr`; `timeout` bounds every read, every write and
    /// each whole response.
    pub fn open(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        Ok(Conn::new(connect(addr, timeout)?, timeout))
    }

    /// Wraps a stream whose timeouts are already set.
    pub fn new(stream: TcpStream, timeout: Duration) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
            timeout,
        }
    }

    /// The socket, for the scenarios that do odd things with it.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads once into the buffer; 0 means end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            self.eof = true;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Waits at most `wait` for the server to send something or close.
    /// `Ok(true)` if it did, `Ok(false)` if the wait ran out.
    ///
    /// This is how slowloris sleeps between bytes: by listening, so it
    /// notices the server giving up at once.
    pub fn wait_for_server(&mut self, wait: Duration) -> io::Result<bool> {
        if self.eof || !self.buf.is_empty() {
            return Ok(true);
        }
        // A zero timeout is an error in std; a millisecond is as good.
        let wait = wait.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(wait))?;
        let got = self.fill();
        self.stream.set_read_timeout(Some(self.timeout))?;
        match got {
            Ok(_) => Ok(true),
            Err(e) if is_timeout(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads one response to a request with method `method`.
    ///
    /// A malformed answer is an `Err`: the one thing this tool exits 1
    /// for. Everything else a server may do (close, stall, reset) is a
    /// [`Reply`] to report.
    pub fn read_response(&mut self, method: &str) -> Result<Reply, BadAnswer> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match wire::parse_response(&self.buf, method, self.eof) {
                Err(problem) => {
                    return Err(BadAnswer {
                        raw: self.buf.clone(),
                        problem,
                    });
                }
                Ok(Some(response)) => {
                    self.buf.drain(..response.len);
                    return Ok(Reply::Response(response));
                }
                // Only an empty buffer at EOF parses as "need more".
                Ok(None) if self.eof => return Ok(Reply::Closed),
                Ok(None) => {}
            }
            if Instant::now() >= deadline || self.buf.len() > MAX_BUFFER {
                return Ok(Reply::TimedOut(std::mem::take(&mut self.buf)));
            }
            match self.fill() {
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {
                    return Ok(Reply::TimedOut(std::mem::take(&mut self.buf)));
                }
                Err(e) => return Ok(Reply::Failed(e)),
            }
        }
    }

    /// Reads until the server closes (at most the timeout) and insists
    /// that nothing came after the responses already read.
    pub fn expect_close(&mut self) -> Result<End, BadAnswer> {
        let deadline = Instant::now() + self.timeout;
        let end = loop {
            if self.eof {
                break End::Closed;
            }
            if Instant::now() >= deadline || self.buf.len() > MAX_BUFFER {
                break End::StillOpen;
            }
            match self.fill() {
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break End::StillOpen,
                Err(e) => break End::Failed(e.to_string()),
            }
        };
        if self.buf.is_empty() {
            Ok(end)
        } else {
            Err(BadAnswer {
                problem: wire::trailing(0, self.buf.len()),
                raw: std::mem::take(&mut self.buf),
            })
        }
    }
}

/// Where a scenario tells the reader what it does: `> ` lines for bytes
/// sent, `< ` lines for bytes received, plain lines for commentary.
pub struct Transcript<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Transcript<'a> {
    /// Writes the transcript to `out` (stdout, or a sink in tests).
    pub fn new(out: &'a mut dyn Write) -> Self {
        Transcript { out }
    }

    // A closed stdout (`| head`) must not change what we do to the
    // server, so write errors are ignored here, in one place.
    fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// A line of commentary.
    pub fn note(&mut self, text: impl AsRef<str>) {
        self.line(text.as_ref());
    }

    /// Bytes we sent, escaped, one `> ` line per line of HTTP.
    pub fn sent(&mut self, bytes: &[u8]) {
        for line in wire::escape_lines(bytes) {
            self.line(&format!("> {line}"));
        }
    }

    /// A response: its head line by line, then the size and start of
    /// its body.
    pub fn got(&mut self, response: &Response) {
        for line in wire::escape_lines(&response.head) {
            self.line(&format!("< {line}"));
        }
        const PREVIEW: usize = 60;
        let body = &response.body;
        if !body.is_empty() {
            let more = if body.len() > PREVIEW { "..." } else { "" };
            let shown = &body[..body.len().min(PREVIEW)];
            self.line(&format!(
                "< [{} body bytes] {}{more}",
                body.len(),
                wire::escape(shown)
            ));
        }
    }

    /// How a read went, when it did not bring a response.
    pub fn read_result(&mut self, read: &Reply) {
        match read {
            Reply::Response(r) => self.got(r),
            Reply::Closed => self.note("(the server closed without answering)"),
            Reply::TimedOut(partial) if partial.is_empty() => {
                self.note("(no answer within the timeout)");
            }
            Reply::TimedOut(partial) => {
                self.note("(timed out in the middle of a response:)");
                for line in wire::escape_lines(partial) {
                    self.line(&format!("< {line}"));
                }
            }
            Reply::Failed(e) => self.note(format!("(read failed: {e})")),
        }
    }
}
