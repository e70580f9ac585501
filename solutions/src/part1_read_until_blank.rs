//! Part 1, exercise 3: read until the empty line.
//!
//! Part 1's `handle` reads once and answers whatever that read returned.
//! This one keeps reading until the bytes it has collected hold the empty
//! line that ends a request head, and only then answers. It stops early
//! when the client stops sending (end of stream) or has sent
//! [`MAX_REQUEST`] bytes without an empty line, so no client can make it
//! collect bytes forever.
//!
//! Everything else is part 1's: the timeouts, the echo, the one response
//! and the lingering close.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use part1_hello::server::{
    Config, Dropped, RESPONSE, has_blank_line, is_timeout, linger_close, quote,
};

use crate::part1::prepare;

// ANCHOR: max-request
/// The most bytes read while waiting for the empty line.
pub const MAX_REQUEST: usize = 8192;
// ANCHOR_END: max-request

/// Part 1's `handle`, reading until the empty line instead of once.
pub fn handle(mut stream: TcpStream, config: &Config) -> Result<(), Dropped> {
    let peer = prepare(&stream, config)?;
    let io_err = |e| Dropped::Io(peer, e);

    // ANCHOR: read-until-blank
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !has_blank_line(&request) && request.len() < MAX_REQUEST {
        match stream.read(&mut chunk) {
            Ok(0) => break, // the client stopped sending
            Ok(n) => request.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) => return Err(Dropped::Silent(peer)),
            Err(e) => return Err(io_err(e)),
        }
    }
    if request.is_empty() {
        return Err(Dropped::Empty(peer));
    }
    let n = request.len();
    let request = &request[..];
    // ANCHOR_END: read-until-blank

    if config.echo_requests {
        let _ = io::stdout().write_all(quote(request, "< ").as_bytes());
    }
    if !has_blank_line(request) {
        eprintln!("{peer}: no empty line in {n} bytes; answering anyway");
    }
    stream.write_all(RESPONSE).map_err(io_err)?;
    linger_close(stream);
    Ok(())
}
