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
use part2_gateway::cli::GatewayArgs;
use part2_gateway::log;
use part3_selectors::{Config, Dispatch, EventLoop};
use part4_threads::cli::{Dispatcher, FLAGS, Settings};
use part4_threads::{Pool, Threaded, fast};

const PROGRAM: &str = "part4-threads";

/// After the loop stops, how long idle workers get to notice the closed
/// queue. Only a worker stuck in its app past the shutdown timeout takes
/// that long; it is then left for the exit to end.
const JOIN_GRACE: Duration = Duration::from_millis(500);

fn main() {
    let args = part2_gateway::cli::parse_or_exit(
        PROGRAM,
        "Part 4: a readiness loop for the sockets, worker threads for the app.",
        FLAGS,
    );
    let settings = Settings::from_parsed(&args.parsed)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let (workers, queue) = (settings.workers, settings.queue);
    let all_done = match settings.dispatch {
        Dispatcher::Plain => {
            let pool = Pool::new(workers, queue).unwrap_or_else(no_workers);
            let pool = Arc::new(pool);
            let dispatch = Threaded::new(args.app.clone(), Arc::clone(&pool));
            serve(dispatch, &args, &settings);
            // ANCHOR: shutdown
            // The loop is gone, and every connection with it: a job parked
            // on one was dropped, a job still running finds its reply gone.
            // The workers, idle now or soon, are joined.
            Arc::into_inner(pool).is_none_or(|pool| pool.shutdown(JOIN_GRACE))
            // ANCHOR_END: shutdown
        }
        Dispatcher::Fast => {
            // The same steps with the tuned pool and dispatcher.
            let pool = fast::Pool::new(workers, queue);
            let pool = Arc::new(pool.unwrap_or_else(no_workers));
            let app = args.app.clone();
            let dispatch = fast::Threaded::new(app, Arc::clone(&pool));
            serve(dispatch, &args, &settings);
            Arc::into_inner(pool).is_none_or(|pool| pool.shutdown(JOIN_GRACE))
        }
    };
    if !all_done {
        log::stderr_line("some workers were still busy; exiting anyway");
    }
}

fn no_workers<T>(e: std::io::Error) -> T {
    cli::fail(PROGRAM, &format!("no workers: {e}"))
}

/// Runs the loop with `dispatch` until SIGINT or SIGTERM, then drains:
/// it stops accepting, closes idle connections, and returns once the
/// responses in flight are written and no job is queued or running
/// (`Dispatch::busy`), or at the shutdown timeout.
fn serve(dispatch: impl Dispatch, args: &GatewayArgs, settings: &Settings) {
    let mut config = Config {
        verbose: args.verbose,
        trace: args.trace,
        ..Config::default()
    };
    part3_selectors::spool::configure(&args.parsed, &mut config)
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
    let text = args.listen.addr();
    let addr = args
        .listen
        .socket_addr()
        .unwrap_or_else(|e| cli::exit_on(PROGRAM, e));
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
    if let Err(e) = server.run(Some(&mut signals), settings.shutdown_timeout) {
        cli::fail(PROGRAM, &format!("event loop failed: {e}"));
    }
}
