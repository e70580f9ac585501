//! Part 1's accept loop with another `handle` plugged in: how the part 1
//! solutions are served.

use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;

use part1_hello::Handle;
use part1_hello::server::{Config, Dropped};

/// Serves one connection, as part 1's `handle` does.
pub trait Handler:
    Fn(TcpStream, &Config) -> Result<(), Dropped> + Send + 'static
{
}

impl<F> Handler for F where
    F: Fn(TcpStream, &Config) -> Result<(), Dropped> + Send + 'static
{
}

/// Binds `addr` and serves `handle` on a new thread, one client at a
/// time, as `part1_hello::Server::spawn` does with part 1's own `handle`.
/// Dropping the returned handle stops it.
pub fn spawn(
    addr: impl ToSocketAddrs,
    config: Config,
    handle: impl Handler,
) -> io::Result<Handle> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    Handle::spawn("part1-solution", local, move |stop| {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let outcome = stream
                .map_err(|e| format!("accept failed: {e}"))
                .and_then(|stream| {
                    handle(stream, &config).map_err(|reason| {
                        format!("dropped connection: {reason}")
                    })
                });
            if let Err(problem) = outcome {
                eprintln!("{problem}");
            }
        }
    })
}

/// Part 1's first step with a connection: the timeouts.
pub use part1_hello::server::prepare;
