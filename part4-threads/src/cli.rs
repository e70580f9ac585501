//! Part 4's own flags, after those of parts 1 to 3.

use std::num::NonZeroUsize;
use std::str::FromStr;
use std::thread;
use std::time::Duration;

use part1_hello::cli::{CliError, Flag, Parsed};

/// `--workers`, `--queue`, `--shutdown-timeout`, `--dispatch`, and part
/// 3's `--body-in-memory` and `--spool-dir`.
pub const FLAGS: &[Flag] = &[
    part3_selectors::spool::IN_MEMORY_FLAG,
    part3_selectors::spool::DIR_FLAG,
    Flag {
        name: "workers",
        value: Some("N"),
        help: "worker threads that run the app (default: CPUs, at least 2)",
    },
    Flag {
        name: "queue",
        value: Some("N"),
        help: "requests that may wait for a worker; then 503 \
               (default: 64 per worker, at least 1024)",
    },
    Flag {
        name: "shutdown-timeout",
        value: Some("SECS"),
        help: "on SIGINT/SIGTERM, how long in-flight requests may finish \
               (default 10)",
    },
    Flag {
        name: "dispatch",
        value: Some("plain|fast"),
        help: "plain (default): the pool and dispatcher this part builds; \
               fast: the tuned ones of the performance chapter",
    },
];

/// Which pool and dispatcher run the app (`--dispatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dispatcher {
    /// [`crate::pool`] and [`crate::threaded`]: what the chapter builds.
    #[default]
    Plain,
    /// [`crate::fast`]: the same design, tuned for speed.
    Fast,
}

impl FromStr for Dispatcher {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "plain" => Ok(Dispatcher::Plain),
            "fast" => Ok(Dispatcher::Fast),
            _ => Err(()),
        }
    }
}

/// What part 4's flags ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `--workers`.
    pub workers: usize,
    /// `--queue`.
    pub queue: usize,
    /// `--shutdown-timeout`.
    pub shutdown_timeout: Duration,
    /// `--dispatch`.
    pub dispatch: Dispatcher,
}

/// One worker per CPU, and at least two, so one slow request never
/// stops the others even on a single core. (For apps that mostly wait,
/// on a database say, a real server would run many more.) One worker
/// would be cheaper for a quick app, but then one slow request stops
/// all the others again, the very flaw this part removes.
pub fn default_workers() -> usize {
    thread::available_parallelism()
        .map_or(2, NonZeroUsize::get)
        .max(2)
}

/// 64 waiting requests per worker, and at least 1024. The bound is on
/// waiting, not memory (a queued request is already in memory): with a
/// slow app, a client queued behind 64 others per worker would rather
/// hear 503 now. The floor keeps a burst of a thousand keep-alive
/// clients on a small machine from being turned away.
pub fn default_queue(workers: usize) -> usize {
    workers.saturating_mul(64).max(1024)
}

impl Settings {
    /// Reads the flags, with the defaults above.
    pub fn from_parsed(parsed: &Parsed) -> Result<Self, CliError> {
        let workers = parsed.parse_or("workers", default_workers())?;
        let queue = parsed.parse_or("queue", default_queue(workers))?;
        let secs: u64 = parsed.parse_or("shutdown-timeout", 10)?;
        let dispatch = parsed.parse_or("dispatch", Dispatcher::Plain)?;
        if workers == 0 || queue == 0 {
            return Err(CliError::Bad(
                "--workers and --queue must be at least 1".into(),
            ));
        }
        Ok(Settings {
            workers,
            queue,
            shutdown_timeout: Duration::from_secs(secs),
            dispatch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use part1_hello::cli::parse;

    fn settings(args: &[&str]) -> Result<Settings, CliError> {
        let args = args.iter().map(|s| s.to_string());
        Settings::from_parsed(&parse("p", "about", FLAGS, args)?)
    }

    #[test]
    fn defaults_and_values() {
        let d = settings(&[]).unwrap();
        assert!(d.workers >= 2);
        assert_eq!(d.queue, default_queue(d.workers));
        assert_eq!(d.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(d.dispatch, Dispatcher::Plain);
        let s = settings(&["--workers", "3", "--queue=5"]).unwrap();
        assert_eq!((s.workers, s.queue), (3, 5));
        assert_eq!(settings(&["--workers", "100"]).unwrap().queue, 6400);
        let f = settings(&["--dispatch", "fast"]).unwrap();
        assert_eq!(f.dispatch, Dispatcher::Fast);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            &["--workers", "0"][..],
            &["--queue", "0"],
            &["--workers", "x"],
            &["--shutdown-timeout", "-1"],
            &["--dispatch", "quick"],
        ] {
            assert!(matches!(settings(bad), Err(CliError::Bad(_))), "{bad:?}");
        }
    }
}
