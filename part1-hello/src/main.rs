//! `part1-hello`: the accept loop of part 1.
//!
//! ```text
//! cargo run -p part1-hello -- --port 8888
//! curl -v http://127.0.0.1:8888/
//! ```

use std::sync::atomic::AtomicBool;

use part1_hello::cli::{self, Listen};
use part1_hello::{Config, Server};

const PROGRAM: &str = "part1-hello";

fn main() {
    let parsed = cli::parse_or_exit(
        PROGRAM,
        "Part 1: answers every request with Hello, World!, one client at a time.",
        cli::COMMON_FLAGS,
    );
    let listen = Listen::from_parsed(&parsed)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let server =
        Server::bind(listen.addr(), Config::default()).unwrap_or_else(|e| {
            cli::fail(
                PROGRAM,
                &format!("cannot listen on {}: {e}", listen.addr()),
            )
        });
    let addr = server
        .local_addr()
        .unwrap_or_else(|e| cli::fail(PROGRAM, &e.to_string()));
    println!("{}", cli::serving_line(addr));
    server.run(&AtomicBool::new(false));
}
