//! `part4-threads`: the readiness loop with a worker pool behind it.
//!
//! ```text
//! cargo run -p part4-threads -- --workers 4
//! curl http://127.0.0.1:8888/sleep?ms=2000 &   # a slow request …
//! curl http://127.0.0.1:8888/hello             # … no longer stops this
//! ```

use std::sync::Arc;
use std::time::Duration;

use part1_hello::cli;
use part2_gateway::log;
use part3_selectors::{Config, EventLoop};
use part4_threads::cli::{FLAGS, Settings};
use part4_threads::{Pool, Threaded};

const PROGRAM: &str = "part4-threads";

/// After the loop stops, how long idle workers get to notice the closed
/// queue. Only a worker stuck in its app past the shutdown timeout takes
/// that long; it is then left for the exit to end.
const JOIN_GRACE: Duration = Duration::from_millis(500);

// ANCHOR: main
fn main() {
    let args = part2_gateway::cli::parse_or_exit(
        PROGRAM,
        "Part 4: a readiness loop for the sockets, worker threads for the app.",
        FLAGS,
    );
    let settings = Settings::from_parsed(&args.parsed)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let config = Config {
        verbose: args.verbose,
        ..Config::default()
    };
    let text = args.listen.addr();
    let addr = args
        .listen
        .socket_addr()
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let pool = Pool::new(settings.workers, settings.queue)
        .unwrap_or_else(|e| cli::fail(PROGRAM, &format!("no workers: {e}")));
    let pool = Arc::new(pool);
    let dispatch = Threaded::new(args.app, Arc::clone(&pool));
    let mut server =
        EventLoop::bind(addr, dispatch, config).unwrap_or_else(|e| {
            cli::fail(PROGRAM, &format!("cannot listen on {text}: {e}"))
        });
    let mut signals = server
        .stop_on_signals()
        .unwrap_or_else(|e| cli::fail(PROGRAM, &e.to_string()));
    println!("{}", cli::serving_line(server.local_addr()));
    println!("app: {}", args.app_name);
    println!("workers: {}, queue: {}", settings.workers, settings.queue);
    // ANCHOR: shutdown
    // SIGINT or SIGTERM: the loop stops accepting, closes idle
    // connections, and returns once in-flight responses are written and
    // no job is queued or running (`Threaded::busy`), or at the timeout.
    if let Err(e) = server.run(Some(&mut signals), settings.shutdown_timeout) {
        cli::fail(PROGRAM, &format!("event loop failed: {e}"));
    }
    // Connections first: a job parked on one is dropped with it, and a
    // worker still streaming to one finds its reply dropped and stops.
    // Then the workers, now idle, are joined.
    drop(server);
    if let Some(pool) = Arc::into_inner(pool)
        && !pool.shutdown(JOIN_GRACE)
    {
        log::stderr_line("some workers were still busy; exiting anyway");
    }
    // ANCHOR_END: shutdown
}
// ANCHOR_END: main
