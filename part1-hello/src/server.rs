//! The accept loop of part 1: one client at a time, one read each.
//!
//! Try it:
//!
//! ```text
//! cargo run -p part1-hello
//! curl -v http://127.0.0.1:8888/
//! printf 'GET / HTTP/1.1\nHost: x\n\n' | nc 127.0.0.1 8888
//! ```

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::trace::{Bytes, Trace};

/// The one response part 1 knows.
// ANCHOR: response
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 14\r\n\
Connection: close\r\n\
\r\n\
Hello, World!\n";
// ANCHOR_END: response

// ANCHOR: config
/// How the server treats each connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long to wait for the request before giving up on a client.
    ///
    /// Without it, one client that connects and says nothing would stop
    /// this one-at-a-time server forever.
    pub read_timeout: Duration,
    /// Print each request with `< ` before every line, as `curl -v` does.
    pub echo_requests: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            read_timeout: Duration::from_secs(5),
            echo_requests: true,
        }
    }
}
// ANCHOR_END: config

/// A listening socket and the settings to serve it with.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: Config,
    /// `--trace`: print each connection's socket events.
    trace: bool,
}

impl Server {
    /// Binds a listening socket; port 0 asks the OS for any free port.
    pub fn bind(addr: impl ToSocketAddrs, config: Config) -> io::Result<Self> {
        // std's `bind` also calls listen(2), with a backlog of 128: enough
        // for a server that handles one client at a time anyway.
        let listener = TcpListener::bind(addr)?;
        Ok(Server {
            listener,
            config,
            trace: false,
        })
    }

    /// The same server, printing a `trace #N …` line for each socket
    /// event if `on` (see [`crate::trace`]).
    pub fn with_trace(self, on: bool) -> Self {
        Server { trace: on, ..self }
    }

    /// The address actually bound, with the real port.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves clients one after another until `stop` is set.
    // ANCHOR: accept-loop
    pub fn run(&self, stop: &AtomicBool) {
        let mut accepted = 0;
        for stream in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            match stream {
                Ok(stream) => {
                    accepted += 1;
                    let trace = Trace::new(self.trace, accepted);
                    if let Err(reason) = handle(stream, &self.config, trace) {
                        eprintln!("dropped connection: {reason}");
                    }
                    // `handle` has dropped the socket by now.
                    trace.event(format_args!("close"));
                }
                // A client that gave up while waiting in the backlog, or
                // a process out of file descriptors: log and go on.
                Err(e) => eprintln!("accept failed: {e}"),
            }
        }
    }
    // ANCHOR_END: accept-loop

    /// Serves on a new thread; the handle stops it.
    pub fn spawn(self) -> io::Result<Handle> {
        let addr = self.local_addr()?;
        Handle::spawn("part1-server", addr, move |stop| self.run(stop))
    }
}

/// A server running on its own thread; dropping it stops the server.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Handle {
    /// Runs `serve` on a new thread named `name`. `serve` must return
    /// soon after the flag it is given is set; a blocking accept loop is
    /// woken by the connection [`stop`](Self::stop) makes to `addr`.
    pub fn spawn(
        name: &str,
        addr: SocketAddr,
        serve: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> io::Result<Handle> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(&flag))?;
        Ok(Handle {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the loop and waits for it. A connection being served is
    /// finished first (bounded by the read timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks; one connection of our own wakes it up so the
        // loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
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

/// Why a connection ended without an answer.
#[derive(Debug)]
pub enum Dropped {
    /// The client closed before sending anything.
    Empty(SocketAddr),
    /// The client sent nothing within the read timeout.
    Silent(SocketAddr),
    /// Reading or writing failed: a reset, a broken pipe.
    Io(SocketAddr, io::Error),
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::Empty(peer) => {
                write!(f, "{peer}: closed before sending a request")
            }
            Dropped::Silent(peer) => {
                write!(f, "{peer}: no request within the read timeout")
            }
            Dropped::Io(peer, e) => write!(f, "{peer}: {e}"),
        }
    }
}

/// Reads once, answers, closes; `trace` shows each step if it is on.
// ANCHOR: handle
pub fn handle(
    mut stream: TcpStream,
    config: &Config,
    trace: Trace,
) -> Result<(), Dropped> {
    let peer = prepare(&stream, config)?;
    trace.event(format_args!("accept {peer}"));
    let io_err = |e| Dropped::Io(peer, e);

    // One read: whatever the client has sent so far. Part 2 fixes this.
    let mut buf = [0u8; 4096];
    let n = match stream.read(&mut buf) {
        Ok(0) => return Err(Dropped::Empty(peer)),
        Ok(n) => n,
        Err(e) if is_timeout(&e) => return Err(Dropped::Silent(peer)),
        Err(e) => return Err(io_err(e)),
    };
    trace.read(n);
    let request = &buf[..n];
    if config.echo_requests {
        // Not `print!`: it panics when stdout is a closed pipe.
        let _ = io::stdout().write_all(quote(request, "< ").as_bytes());
    }
    if !has_blank_line(request) {
        eprintln!("{peer}: request incomplete after one read ({})", Bytes(n));
    }

    stream.write_all(RESPONSE).map_err(io_err)?;
    trace.wrote(RESPONSE.len());
    linger_close(stream);
    Ok(())
}
// ANCHOR_END: handle

// ANCHOR: prepare
/// What `handle` does first with a connection: it sets the read and
/// write timeouts. Returns the client's address, for the log.
pub fn prepare(
    stream: &TcpStream,
    config: &Config,
) -> Result<SocketAddr, Dropped> {
    let peer = stream
        .peer_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let io_err = |e| Dropped::Io(peer, e);
    stream
        .set_read_timeout(Some(config.read_timeout))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(config.read_timeout))
        .map_err(io_err)?;
    Ok(peer)
}
// ANCHOR_END: prepare

/// Whether `e` is a read timeout (`WouldBlock` on Unix, `TimedOut` on
/// Windows).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Whether the bytes hold the empty line that ends a request head.
pub fn has_blank_line(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\n\n")
        || bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Prefixes every line of `bytes` with `prefix`, as `curl -v` shows them.
pub fn quote(bytes: &[u8], prefix: &str) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        out.push_str(prefix);
        out.push_str(line.trim_end_matches(['\r', '\n']));
        out.push('\n');
    }
    out
}

// ANCHOR: linger-close
/// Closes after sending our side, without destroying the answer.
///
/// Closing a socket that still has unread bytes makes the kernel send a
/// reset, and a reset can make the client drop the response it has not
/// read yet. So we shut our side, read what the client still sends for a
/// moment, and only then close; web servers call this a lingering close.
pub fn linger_close(mut stream: TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => continue,
        }
    }
}
// ANCHOR_END: linger-close
