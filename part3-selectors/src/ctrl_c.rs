//! Ctrl-C on Windows, as an event in the loop.
//!
//! Windows has no signals to wait on: the console hands Ctrl-C (and
//! Ctrl-Break, and closing its window) to a handler on a thread of its
//! own. The `ctrlc` crate runs our closure there, and the closure does
//! what signal-hook-mio's handler does on Unix, the self-pipe trick: it
//! sends a byte to a socket registered with the loop's `Poll`. mio polls
//! only sockets on Windows, so the "pipe" is two loopback UDP sockets.
//! The loop then sees Ctrl-C as the token `SIGNALS`, as on Unix.

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, UdpSocket};

use mio::event::Source;
use mio::{Interest, Registry, Token};

/// The read end of the pipe: readable once Ctrl-C was pressed.
pub struct Signals {
    socket: mio::net::UdpSocket,
}

impl Signals {
    /// Installs the process's Ctrl-C handler; there is one per process,
    /// so a second call fails.
    pub fn new() -> io::Result<Self> {
        let loopback = (Ipv4Addr::LOCALHOST, 0);
        let read = UdpSocket::bind(loopback)?;
        let write = UdpSocket::bind(loopback)?;
        // Connected to each other: the read end hears only the write end.
        read.connect(write.local_addr()?)?;
        write.connect(read.local_addr()?)?;
        read.set_nonblocking(true)?;
        ctrlc::set_handler(move || {
            // Should the send fail, this Ctrl-C is lost; the next may work.
            let _ = write.send(&[1]);
        })
        .map_err(io::Error::other)?;
        Ok(Signals {
            socket: mio::net::UdpSocket::from_std(read),
        })
    }

    /// One item if Ctrl-C was pressed since the last call (however
    /// often), like signal-hook-mio's `pending` for one signal.
    pub fn pending(&mut self) -> impl Iterator<Item = ()> {
        let mut pressed = false;
        let mut byte = [0u8; 1];
        // Read until WouldBlock, or mio may not report the socket again.
        loop {
            match self.socket.recv(&mut byte) {
                Ok(_) => pressed = true,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // WouldBlock: drained. Anything else: nothing to read.
                Err(_) => break,
            }
        }
        pressed.then_some(()).into_iter()
    }
}

impl Source for Signals {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.socket.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.socket.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.socket.deregister(registry)
    }
}
