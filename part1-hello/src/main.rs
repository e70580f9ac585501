//! `part1-hello`: the accept loop of part 1.
//!
//! ```text
//! cargo run -p part1-hello -- --port 8888
//! curl -v http://127.0.0.1:8888/
//! cargo run -p part1-hello -- --trace     # and watch each connection
//! ```

use std::sync::atomic::AtomicBool;

use part1_hello::cli::{self, Listen};
use part1_hello::{Config, Server};

const PROGRAM: &str = "part1-hello";

fn main() {
    let mut flags = cli::COMMON_FLAGS.to_vec();
    flags.push(cli::TRACE_FLAG);
    let parsed = cli::parse_or_exit(
        PROGRAM,
        "Part 1: answers every request with Hello, World!, one client at a time.",
        &flags,
    );
    let listen = Listen::from_parsed(&parsed)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let server = Server::bind(listen.addr(), Config::default())
        .unwrap_or_else(|e| {
            cli::fail(
                PROGRAM,
                &format!("cannot listen on {}: {e}", listen.addr()),
            )
        })
        .with_trace(parsed.switch(cli::TRACE_FLAG.name));
    let addr = server
        .local_addr()
        .unwrap_or_else(|e| cli::fail(PROGRAM, &e.to_string()));
    println!("{}", cli::serving_line(addr));
    server.run(&AtomicBool::new(false));
}
