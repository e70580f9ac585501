//! `thread-per-connection`: part 2's server on many threads at once, a
//! thread for each open connection (see
//! `solutions::part4_thread_per_connection`).
//!
//! ```text
//! cargo run -q -p solutions --bin thread-per-connection -- --threads 1100
//! ```

use std::time::Duration;

use part1_hello::cli::{self, Flag};
use solutions::part4_thread_per_connection;

const PROGRAM: &str = "thread-per-connection";

const FLAGS: &[Flag] = &[Flag {
    name: "threads",
    value: Some("N"),
    help: "threads, so connections served at once (default 1024)",
}];

fn main() {
    let args = part2_gateway::cli::parse_or_exit(
        PROGRAM,
        "Part 2's blocking server on N threads: a thread per connection.",
        FLAGS,
    );
    let threads = args
        .parsed
        .parse_or("threads", 1024_usize)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let addr = args
        .listen
        .socket_addr()
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    // Idle connections stay as long as part 3's and part 4's do, so that
    // the two can be compared holding the same clients.
    let config = part2_gateway::Config {
        keep_alive_timeout: Duration::from_secs(30),
        verbose: args.verbose,
        ..Default::default()
    };
    let server =
        part4_thread_per_connection::spawn(addr, args.app, config, threads)
            .unwrap_or_else(|e| {
                cli::fail(
                    PROGRAM,
                    &format!("cannot serve on {}: {e}", args.listen.addr()),
                )
            });
    println!("{}", cli::serving_line(server.addr()));
    println!("app: {}, threads: {threads}", args.app_name);
    server.wait();
}
