//! Part 4, a thread per connection: the other way to serve many clients
//! at once, for comparison with the pool.
//!
//! Part 2's blocking server accepts a connection and serves it, request
//! after request, until it closes; then it accepts the next. Run that
//! same server on `threads` threads over one listening socket, and each
//! open connection has a thread to itself for as long as it stays open:
//! `threads` clients are served at once, and the next ones wait in the
//! kernel's backlog until a thread is free. (Apache's worker model makes
//! its threads ahead of time like this; the textbook version spawns one
//! per `accept`. Either way, a connection costs a thread, idle or not.)
//!
//! ```text
//! cargo run -q -p solutions --bin thread-per-connection -- --threads 1100
//! python3 bench/idle_conns.py 1000 8888 &
//! grep -E 'VmRSS|Threads' /proc/$(pgrep -f thread-per-connection)/status
//! ```

// ANCHOR: spawn
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use part2_gateway::{Config, Server, SharedApp};

/// `threads` threads, each running part 2's server on one listener.
pub fn spawn(
    addr: impl ToSocketAddrs,
    app: SharedApp,
    config: Config,
    threads: usize,
) -> io::Result<Handle> {
    let server = Arc::new(Server::bind(addr, app, config)?);
    let addr = server.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let (ended_tx, ended) = mpsc::channel();
    let mut handle = Handle {
        addr,
        stop: Arc::clone(&stop),
        threads: Vec::with_capacity(threads),
        ended,
    };
    for n in 0..threads.max(1) {
        let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
        let ended = ended_tx.clone();
        // Part 2's accept-and-serve loop, unchanged: `run` takes `&self`,
        // so every thread can call it on the same server. If the OS
        // refuses a thread, `?` drops `handle`, which stops the others.
        let thread = thread::Builder::new().name(format!("conn-{n}")).spawn(
            move || {
                server.run(&stop);
                let _ = ended.send(());
            },
        )?;
        handle.threads.push(thread);
    }
    Ok(handle)
}
// ANCHOR_END: spawn

/// The running threads; dropping the handle stops them.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// A message from each thread that ends.
    ended: mpsc::Receiver<()>,
}

impl Handle {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Handle {
    /// Sets the stop flag, then wakes the threads one by one with a
    /// connection of our own, as part 1's `Handle` does for its one
    /// thread: whichever accepts it sees the flag and ends. A thread
    /// serving a client gets there once that client is done (at the
    /// latest at part 2's keep-alive timeout).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in &self.threads {
            let wake = Duration::from_secs(1);
            let _ = TcpStream::connect_timeout(&self.addr, wake);
            let _ = self.ended.recv();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
