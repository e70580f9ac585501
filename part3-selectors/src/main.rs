//! `part3-selectors`: the single-threaded readiness loop.
//!
//! ```text
//! cargo run -p part3-selectors
//! curl -v http://127.0.0.1:8888/hello
//! ```

use std::time::Duration;

use part1_hello::cli;
use part3_selectors::{Config, EventLoop, Inline, spool};

const PROGRAM: &str = "part3-selectors";

fn main() {
    let args = part2_gateway::cli::parse_or_exit(
        PROGRAM,
        "Part 3: one thread, a readiness loop, thousands of connections.",
        spool::FLAGS,
    );
    let mut config = Config {
        verbose: args.verbose,
        trace: args.trace,
        ..Config::default()
    };
    spool::configure(&args.parsed, &mut config)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let text = args.listen.addr();
    let addr = args
        .listen
        .socket_addr()
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let mut server = EventLoop::bind(addr, Inline::new(args.app), config)
        .unwrap_or_else(|e| {
            cli::fail(PROGRAM, &format!("cannot listen on {text}: {e}"))
        });
    let mut signals = server
        .stop_on_signals()
        .unwrap_or_else(|e| cli::fail(PROGRAM, &e.to_string()));
    println!("{}", cli::serving_line(server.local_addr()));
    println!("app: {}", args.app_name);
    if let Err(e) = server.run(Some(&mut signals), Duration::from_secs(5)) {
        cli::fail(PROGRAM, &format!("event loop failed: {e}"));
    }
}
