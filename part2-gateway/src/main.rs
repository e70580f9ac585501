//! `part2-gateway`: the blocking gateway server.
//!
//! ```text
//! cargo run -p part2-gateway -- --app demo
//! curl -v http://127.0.0.1:8888/hello
//! cargo run -p part2-gateway -- --trace    # and watch each connection
//! ```

use std::sync::atomic::AtomicBool;

use part1_hello::cli;
use part2_gateway::{Config, Server};

const PROGRAM: &str = "part2-gateway";

fn main() {
    let args = part2_gateway::cli::parse_or_exit(
        PROGRAM,
        "Part 2: a blocking HTTP/1.1 server that runs WSGI-style apps, \
         one connection at a time.",
        &[],
    );
    let config = Config {
        verbose: args.verbose,
        trace: args.trace,
        ..Config::default()
    };
    let addr = args.listen.addr();
    let server = Server::bind(&addr, args.app, config).unwrap_or_else(|e| {
        cli::fail(PROGRAM, &format!("cannot listen on {addr}: {e}"))
    });
    let bound = server
        .local_addr()
        .unwrap_or_else(|e| cli::fail(PROGRAM, &e.to_string()));
    println!("{}", cli::serving_line(bound));
    println!("app: {}", args.app_name);
    server.run(&AtomicBool::new(false));
}
