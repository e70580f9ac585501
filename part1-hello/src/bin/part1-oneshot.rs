//! `part1-oneshot`: the first listing of the book. It serves exactly one
//! request and exits.
//!
//! ```text
//! cargo run -p part1-hello --bin part1-oneshot
//! curl -v http://127.0.0.1:8888/      # in another terminal
//! ```

use std::io::{self, Read, Write};
use std::net::TcpListener;

use part1_hello::cli::{self, Listen};

const PROGRAM: &str = "part1-oneshot";

fn main() {
    let parsed = cli::parse_or_exit(
        PROGRAM,
        "Part 1: serves one request, then exits.",
        cli::COMMON_FLAGS,
    );
    let listen = Listen::from_parsed(&parsed)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    if let Err(e) = serve_once(&listen.addr()) {
        cli::fail(PROGRAM, &e.to_string());
    }
}

// ANCHOR: oneshot
fn serve_once(addr: &str) -> io::Result<()> {
    // socket(), bind() and listen() in one call.
    let listener = TcpListener::bind(addr)?;
    println!("Serving HTTP on http://{}/ ...", listener.local_addr()?);

    // accept() waits for a client and gives us a socket for it alone.
    let (mut client, peer) = listener.accept()?;
    println!("Connection from {peer}");

    // read() returns whatever has arrived so far: one request, we hope.
    let mut request = [0u8; 1024];
    let n = client.read(&mut request)?;
    print!("{}", String::from_utf8_lossy(&request[..n]));

    let response = "HTTP/1.1 200 OK\r\n\
                    Content-Type: text/plain; charset=utf-8\r\n\
                    Content-Length: 14\r\n\
                    Connection: close\r\n\
                    \r\n\
                    Hello, World!\n";
    client.write_all(response.as_bytes())?;
    Ok(()) // `client` and `listener` are closed when they go out of scope.
}
// ANCHOR_END: oneshot
