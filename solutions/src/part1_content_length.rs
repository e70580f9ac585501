//! Part 1, exercise 1: a `Content-Length` that does not match the body,
//! and the way to make that mistake impossible.
//!
//! [`mismatched`] is part 1's response after the exercise's edit: a new
//! body, and `Content-Length: 14` left as it was. [`answer_with`] serves
//! such a response the way part 1 does (one read, the response, a
//! lingering close), so the book's sessions can show what `curl` makes of
//! it. [`response`] is the fix: the head is built from the body.

use std::io::{Read, Write};
use std::net::TcpStream;

use part1_hello::server::{Config, Dropped, RESPONSE, linger_close};

use crate::part1::{Handler, prepare};

/// Part 1's response with its body replaced by `body` and its head left
/// alone, `Content-Length: 14` included.
pub fn mismatched(body: &str) -> Vec<u8> {
    let head_len = RESPONSE.len() - b"Hello, World!\n".len();
    let mut bytes = RESPONSE[..head_len].to_vec();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

// ANCHOR: response
/// A response whose `Content-Length` is counted from the body it carries,
/// in bytes, so the two cannot disagree.
pub fn response(body: &str) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n",
        body.len()
    );
    [head.as_bytes(), body.as_bytes()].concat()
}
// ANCHOR_END: response

/// A connection handler that answers every request with `response`, as
/// part 1 answers with its own: after one read, then a lingering close.
pub fn answer_with(response: Vec<u8>) -> impl Handler {
    move |mut stream: TcpStream, config: &Config| {
        let peer = prepare(&stream, config)?;
        let io_err = |e| Dropped::Io(peer, e);
        let mut request = [0u8; 4096];
        match stream.read(&mut request) {
            Ok(0) => return Err(Dropped::Empty(peer)),
            Ok(_) => {}
            Err(e) => return Err(io_err(e)),
        }
        stream.write_all(&response).map_err(io_err)?;
        linger_close(stream);
        Ok(())
    }
}
