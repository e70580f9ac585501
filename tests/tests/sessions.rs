//! Every terminal session the book shows is one this test replays.
//!
//! A session is a file in `book/src/sessions/`: one or more commands, each
//! on a line of its own that starts with `$ `, each followed by what it
//! printed (stdout and stderr together, as a terminal shows them). The
//! commands are written as a reader types them, against `127.0.0.1:8888`.
//! The chapters include these files; they never paste a session by hand.
//!
//! # What serves a session
//!
//! Each file's line in [`MANIFEST`] says where its server comes from:
//!
//! - [`s`]: a part, started in-process on a free port with the options
//!   `cargo run` would give it (most sessions);
//! - [`own`]: a server of the test's own, such as an exercise solution
//!   from the `solutions` crate;
//! - [`with_terminal`]: the part's real binary, for a session next to
//!   which the book shows the *server's* terminal. That second file holds
//!   one command, the `cargo run -q -p …` that starts the server, and
//!   everything the server printed until the client session was over.
//!   The client's commands see the server's process id as
//!   `$SERVER_PID`: `kill -INT $SERVER_PID` is Ctrl-C in its terminal.
//!   [`terminal`] is such a file on its own, with no client: what a
//!   server prints when it starts;
//! - [`script`]: the session starts the server itself. Its first command
//!   is `cargo run -q -p NAME [-- ARGS] >/dev/null & SERVER_PID=$!`, as a
//!   reader starts a server in the background of the shell they then use
//!   as its client. The harness runs the real binary there, as that
//!   shell's own background job, so later commands can `kill -TERM
//!   $SERVER_PID` and `wait $SERVER_PID` for its exit status. Its stdout
//!   (the serving line and the access log) goes to `/dev/null`, as the
//!   command says; the harness reads the port from the serving line on
//!   the way. Its stderr stays on the terminal.
//!
//! Real binaries are run from `target/<profile>/`, with `--port 0` added
//! (so `cargo test --workspace` must have built them).
//!
//! # How a session runs
//!
//! The commands run one after another in one `sh`, with stdin closed, the
//! address replaced by the real one (`127.0.0.1:8888` in URLs,
//! `127.0.0.1 8888` for `nc` and `telnet`, `--port 8888` for
//! `misbehave`), and `cargo run -q -p NAME [--bin BIN] [--]` replaced by
//! the path of that binary. What a command prints is shown under it; what
//! a background job prints lands under the command that was running at
//! the time, as in a terminal. When the last command is done, whatever is
//! still running (a background `nc`, a server nobody stopped) is killed.
//! A session still running after [`TIMEOUT`] (or its manifest line's
//! [`Session::timeout`]) is killed, and fails.
//!
//! A session that differs from its file is replayed again, up to
//! [`ATTEMPTS`] times in all, and fails only if no replay matches. Its
//! commands run real programs whose output depends on time: a telnet
//! kept open with `sleep 1` while the answer comes, a client started
//! 0.2 s after another, a time rounded to the second. On a machine
//! loaded enough to stall a process for a second, one replay in many
//! can miss; a server that prints something else every time fails all
//! of them.
//!
//! # Normalising
//!
//! The output is normalised and compared with the file. Normalising only
//! touches what must vary from run to run or machine to machine:
//!
//! - the server's real port becomes `8888` again (after `127.0.0.1:`,
//!   `127.0.0.1 ` and `port `), and any other port after `127.0.0.1:`, a
//!   client's, becomes `<port>`;
//! - the values of `Date` and `Last-Modified` become `<date>`, and so
//!   does the time of an access log line (`[<date>]`); the value of
//!   `ETag` (made from a file's modification time) becomes `<etag>`;
//! - curl's version in `User-Agent` becomes `curl/<version>`;
//! - a time as curl's `%{time_total}` prints it, a number with exactly
//!   six decimals followed by `s`, is rounded to the nearest second and
//!   marked with `~` (`1.797506s` becomes `~2s`): the sessions that show
//!   one are about whole seconds of waiting, which survive the rounding,
//!   while the milliseconds a loaded machine adds do not fail them;
//! - a duration as Rust's `{:.2?}` prints it (what `misbehave` reports),
//!   a number with exactly two decimals followed by `ns`, `µs`, `ms` or
//!   `s`, becomes a half second, marked with `~` and kept as wide as it
//!   was (`501.09ms` becomes `   ~0.5s`): the `misbehave` sessions are
//!   about requests that sleep half a second each. It is rounded down,
//!   after adding a tenth of a second: a sleep never ends early, and a
//!   loaded machine only makes an answer late, by up to 0.4 s here, and
//!   more so for the last of eight requests served one after another;
//! - the worker in part 4's `job taken by worker 1` (and `resumed by`)
//!   becomes `<n>`: which idle worker takes a job is the OS's choice;
//! - the counts in `misbehave no-read`'s summary become `<n>`: how many
//!   requests the kernel's buffers took before its writes blocked, and
//!   how many probes fitted in its time (only if all were answered);
//! - curl's own chatter (lines starting with `* `, `{ [` or `} [`) is
//!   dropped: it is worded differently by every curl release;
//! - a CR before a line feed is dropped (a book cannot show it), and each
//!   command's output ends with a line feed.
//!
//! # Adding a session
//!
//! Write the file with just its `$ command` lines (for a server's
//! terminal, the `cargo run` line and the lines it prints at start), add
//! one line to [`MANIFEST`], then record it:
//!
//! ```text
//! UPDATE_SESSIONS=1 cargo test -p tests --test sessions
//! ```
//!
//! With `UPDATE_SESSIONS=1` the test writes each file (commands plus
//! normalised output) instead of comparing; review the diff before
//! committing. `SESSIONS=part3-lab` replays (or records) only the files
//! whose names contain `part3-lab`. A server's terminal is read until it has printed as many
//! lines as its file shows, so after recording one check that it caught
//! everything. A file in the directory that is not in the manifest, or a
//! manifest line without its file, fails the test: no session in the
//! book goes unreplayed. The commands need `curl`, `nc`, `telnet` and
//! `od` on `PATH`.

// The sessions are shell sessions whose strays are killed by process
// group: Unix only.
#![cfg(unix)]

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tests::{Options, Part, TestServer, binary_path, parse_serving_line};

/// One replayed session: its file, what serves it, and how long it may
/// take.
struct Session {
    file: &'static str,
    server: Server,
    /// How long the session may run before it is killed, and fails.
    timeout: Duration,
}

/// Where a session's server comes from; see the module docs.
#[derive(Clone, Copy)]
enum Server {
    /// A part, in-process on a free port.
    Part(Part, fn() -> Options),
    /// A server of the test's own, in-process on a free port.
    Own(fn() -> TestServer),
    /// The real binary, whose terminal is the named file.
    Binary { terminal: &'static str },
    /// The session's first command starts the server.
    Script,
    /// The file is a server's terminal, with no client.
    Terminal,
}

impl Session {
    /// The same session, allowed to run for `timeout` instead of
    /// [`TIMEOUT`]: for one that waits for a server's timer on purpose.
    const fn timeout(self, timeout: Duration) -> Session {
        Session { timeout, ..self }
    }
}

/// The demo app, as `cargo run -p part2-gateway` serves it.
fn demo() -> Options {
    Options::app("demo")
}

/// The demo app with the timeouts `cargo run` has (the harness's own
/// defaults are shorter), for sessions that show a timeout or a wait.
fn book_defaults() -> Options {
    Options {
        read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(30),
        ..demo()
    }
}

/// `cargo run -p part4-threads -- --workers 1 --queue 1`.
fn one_worker_one_queued() -> Options {
    Options {
        workers: 1,
        queue: 1,
        ..book_defaults()
    }
}

/// `cargo run -p part4-threads -- --workers 4` (its queue is then 1024).
fn four_workers() -> Options {
    Options {
        workers: 4,
        queue: 1024,
        ..book_defaults()
    }
}

/// Part 1 as `cargo run -p part1-hello` runs it, with one change of the
/// solution crate's: `handle` serves the connections.
fn part1_with(handle: impl solutions::part1::Handler) -> TestServer {
    let config = part1_hello::Config {
        echo_requests: false,
        ..part1_hello::Config::default()
    };
    let server = solutions::part1::spawn("127.0.0.1:0", config, handle)
        .expect("bind 127.0.0.1:0");
    TestServer::new(server.addr(), server)
}

/// Part 1, exercise 1: the body made longer, `Content-Length` left at 14.
fn part1_longer_body() -> TestServer {
    use solutions::part1_content_length::{answer_with, mismatched};
    part1_with(answer_with(mismatched("Hello, Rust World!\n")))
}

/// Part 1, exercise 1: the body made shorter, `Content-Length` left at 14.
fn part1_shorter_body() -> TestServer {
    use solutions::part1_content_length::{answer_with, mismatched};
    part1_with(answer_with(mismatched("Hi!\n")))
}

/// Part 1, exercise 3: reading until the empty line.
fn part1_read_until_blank() -> TestServer {
    part1_with(solutions::part1_read_until_blank::handle)
}

/// Every session file in `book/src/sessions/`, one line each.
const MANIFEST: &[Session] = &[
    with_terminal("part1-curl-hi.txt", "part1-oneshot-terminal.txt"),
    with_terminal("part1-curl-v.txt", "part1-curl-v-terminal.txt"),
    with_terminal("part1-telnet.txt", "part1-telnet-terminal.txt"),
    with_terminal("part1-nc.txt", "part1-nc-terminal.txt"),
    s("part1-nc-od.txt", Part::Part1, Options::default),
    with_terminal("part1-nc-slow-body.txt", "part1-nc-slow-body-terminal.txt"),
    with_terminal("part1-nc-silent.txt", "part1-nc-silent-terminal.txt"),
    own("part1-ex1-longer-body.txt", part1_longer_body),
    own("part1-ex1-shorter-body.txt", part1_shorter_body),
    own("part1-ex3-telnet.txt", part1_read_until_blank),
    script("part1-ex6-oneshot-twice.txt"),
    with_terminal("part1-lab-trace.txt", "part1-lab-trace-terminal.txt"),
    with_terminal("part1-lab-telnet.txt", "part1-lab-telnet-terminal.txt"),
    with_terminal(
        "part1-lab-one-at-a-time.txt",
        "part1-lab-one-at-a-time-terminal.txt",
    )
    .timeout(Duration::from_secs(15)),
    s("part1-lab-head.txt", Part::Part1, Options::default),
    with_terminal(
        "part1-lab-fragments.txt",
        "part1-lab-fragments-terminal.txt",
    ),
    s("part1-lab-slowloris.txt", Part::Part1, Options::default),
    with_terminal("part1-lab-reset.txt", "part1-lab-reset-terminal.txt"),
    s("part2-curl-hello.txt", Part::Part2, demo),
    s("part2-curl-echo.txt", Part::Part2, demo),
    s("part2-curl-chunked.txt", Part::Part2, demo),
    s("part2-curl-continue.txt", Part::Part2, demo),
    s("part2-curl-head-static.txt", Part::Part2, demo),
    s("part2-curl-wsgi.txt", Part::Part2, demo).timeout(PYTHON),
    s("part2-curl-wsgi-text.txt", Part::Part2, demo).timeout(PYTHON),
    s("part2-curl-gzip.txt", Part::Part2, demo),
    s("part2-nc-505.txt", Part::Part2, demo),
    s("part2-nc-smuggle.txt", Part::Part2, demo),
    s("part2-nc-pipeline.txt", Part::Part2, demo),
    s("part2-curl-environ.txt", Part::Part2, demo),
    s("part2-curl-http10.txt", Part::Part2, demo),
    s("part2-curl-traversal.txt", Part::Part2, demo),
    s("part2-curl-flask.txt", Part::Part2, demo).timeout(PYTHON),
    s("part2-ex2-expect.txt", Part::Part2, demo),
    s("part2-lab-host.txt", Part::Part2, demo),
    s("part2-lab-keep-alive.txt", Part::Part2, demo),
    s("part2-lab-head.txt", Part::Part2, demo),
    s("part2-lab-pipeline.txt", Part::Part2, demo),
    s("part2-lab-request-line.txt", Part::Part2, demo),
    s("part2-lab-head-and-body.txt", Part::Part2, demo),
    s("part2-lab-app-errors.txt", Part::Part2, demo),
    s("part2-lab-408.txt", Part::Part2, book_defaults)
        .timeout(Duration::from_secs(20)),
    s("part2-lab-slowloris.txt", Part::Part2, book_defaults)
        .timeout(Duration::from_secs(20)),
    s("part2-lab-fragments.txt", Part::Part2, demo),
    with_terminal("part2-lab-reset.txt", "part2-lab-reset-terminal.txt"),
    s("part3-nc-pipeline.txt", Part::Part3, demo),
    s("part3-nc-half-close.txt", Part::Part3, demo),
    s("part3-telnet-slowloris.txt", Part::Part3, book_defaults)
        .timeout(Duration::from_secs(15)),
    s("part3-curl-slow-app.txt", Part::Part3, book_defaults),
    with_terminal("part3-lab-telnet.txt", "part3-lab-telnet-terminal.txt"),
    with_terminal(
        "part3-lab-two-clients.txt",
        "part3-lab-two-clients-terminal.txt",
    ),
    with_terminal("part3-lab-pipeline.txt", "part3-lab-pipeline-terminal.txt"),
    with_terminal("part3-lab-408.txt", "part3-lab-408-terminal.txt")
        .timeout(Duration::from_secs(25)),
    with_terminal(
        "part3-lab-half-close.txt",
        "part3-lab-half-close-terminal.txt",
    ),
    with_terminal("part3-lab-slow-app.txt", "part3-lab-slow-app-terminal.txt"),
    s("part3-lab-no-read.txt", Part::Part3, book_defaults)
        .timeout(Duration::from_secs(20)),
    with_terminal("part3-lab-reset.txt", "part3-lab-reset-terminal.txt"),
    terminal("part4-start.txt"),
    s(
        "part4-curl-queue-full.txt",
        Part::Part4,
        one_worker_one_queued,
    ),
    script("part4-shutdown-drain.txt"),
    script("part4-shutdown-timeout.txt"),
    s("part4-ex1-parallel-part3.txt", Part::Part3, book_defaults),
    s("part4-ex1-parallel-part4.txt", Part::Part4, four_workers),
    with_terminal("part4-lab-job.txt", "part4-lab-job-terminal.txt"),
    with_terminal("part4-lab-telnet.txt", "part4-lab-telnet-terminal.txt"),
    with_terminal("part4-lab-408.txt", "part4-lab-408-terminal.txt")
        .timeout(Duration::from_secs(30)),
    with_terminal(
        "part4-lab-queue-full.txt",
        "part4-lab-queue-full-terminal.txt",
    ),
    with_terminal("part4-lab-drain.txt", "part4-lab-drain-terminal.txt"),
    with_terminal("part4-lab-reset.txt", "part4-lab-reset-terminal.txt"),
];

/// A session served by `part`, in-process.
const fn s(
    file: &'static str,
    part: Part,
    options: fn() -> Options,
) -> Session {
    session(file, Server::Part(part, options))
}

/// A session served by a server of the test's own.
const fn own(file: &'static str, start: fn() -> TestServer) -> Session {
    session(file, Server::Own(start))
}

/// A session served by the real binary that `terminal` starts; the
/// server's output is that second file.
const fn with_terminal(file: &'static str, terminal: &'static str) -> Session {
    session(file, Server::Binary { terminal })
}

/// A session that starts its own server.
const fn script(file: &'static str) -> Session {
    session(file, Server::Script)
}

/// A server's terminal as it starts, with no client.
const fn terminal(file: &'static str) -> Session {
    session(file, Server::Terminal)
}

const fn session(file: &'static str, server: Server) -> Session {
    Session {
        file,
        server,
        timeout: TIMEOUT,
    }
}

/// A session still running after this long is killed, and fails, unless
/// its manifest line gives it a [`Session::timeout`] of its own.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a session that differs is replayed before it fails
/// (see the module docs).
const ATTEMPTS: usize = 3;

/// For a session that starts Python: its startup takes seconds on a
/// loaded machine.
const PYTHON: Duration = Duration::from_secs(30);

/// Sessions replayed at the same time. They mostly wait (on sleeps, on
/// timeouts), so a few at once shorten the run without loading the
/// machine enough to move their rounded times.
const PARALLEL: usize = 4;

/// The address every session is written against: `127.0.0.1:8888` in
/// URLs, `127.0.0.1 8888` for `nc` and `telnet`, `--port 8888` for
/// `misbehave`.
const BOOK_ADDR: &str = "127.0.0.1:8888";
const BOOK_ADDR_NC: &str = "127.0.0.1 8888";
const BOOK_PORT_FLAG: &str = "--port 8888";

/// How a session starts its own server in the background.
const SERVER_START_SUFFIX: &str = " >/dev/null & SERVER_PID=$!";

/// What the harness prints between two commands, to tell their outputs
/// apart: an ASCII record separator, which no session prints.
const NEXT_COMMAND: char = '\u{1e}';

fn sessions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/sessions")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SESSIONS").is_some_and(|v| v == "1")
}

/// Whether `SESSIONS` (if set) asks for this file.
fn selected(session: &Session) -> bool {
    std::env::var("SESSIONS").map_or(true, |only| session.file.contains(&only))
}

#[test]
fn every_session_in_the_book_replays() {
    require_tools(&["curl", "nc", "telnet", "od", "mktemp", "mkfifo"]);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                while let Some(session) =
                    MANIFEST.get(next.fetch_add(1, Ordering::SeqCst))
                {
                    if !selected(session) {
                        continue;
                    }
                    if let Err(problem) = replay_until_it_matches(session) {
                        failures
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("{}: {problem}", session.file));
                    }
                }
            });
        }
    });
    let failures = failures
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    assert!(
        failures.is_empty(),
        "{} session(s) differ (UPDATE_SESSIONS=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_manifest_and_the_directory_agree() {
    let mut listed: Vec<&str> = MANIFEST.iter().map(|s| s.file).collect();
    listed.extend(MANIFEST.iter().filter_map(|s| match s.server {
        Server::Binary { terminal } => Some(terminal),
        _ => None,
    }));
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "a file is listed twice");
    let on_disk: BTreeSet<String> = fs::read_dir(sessions_dir())
        .expect("book/src/sessions")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let unlisted: Vec<&String> = on_disk
        .iter()
        .filter(|f| !unique.contains(f.as_str()))
        .collect();
    let missing: Vec<&&str> =
        unique.iter().filter(|f| !on_disk.contains(**f)).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "sessions not in the manifest (never replayed): {unlisted:?}; \
         manifest lines without a file: {missing:?}"
    );
}

/// Replays one session up to [`ATTEMPTS`] times, until it matches (once
/// when recording); `Err` says how the last replay differed.
fn replay_until_it_matches(session: &Session) -> Result<(), String> {
    let mut result = replay(session);
    for attempt in 2..=ATTEMPTS {
        if result.is_ok() || updating() {
            break;
        }
        // Shown only when the test fails, or with `--nocapture`.
        if let Err(problem) = &result {
            eprintln!(
                "{}: replay {attempt} of {ATTEMPTS}, after this one \
                 differed:\n{problem}",
                session.file
            );
        }
        result = replay(session);
    }
    result
}

/// Replays one session; `Err` says how it differs.
fn replay(session: &Session) -> Result<(), String> {
    let transcript = Transcript::read(session.file)?;
    let timeout = session.timeout;
    match session.server {
        Server::Part(part, options) => {
            let server = tests::start(part, &options());
            transcript.check(run(
                &transcript,
                Some(server.addr()),
                None,
                timeout,
            )?)
        }
        Server::Own(start) => {
            let server = start();
            transcript.check(run(
                &transcript,
                Some(server.addr()),
                None,
                timeout,
            )?)
        }
        Server::Script => {
            transcript.check(run(&transcript, None, None, timeout)?)
        }
        Server::Binary { terminal } => {
            let screen = Transcript::read(terminal)?;
            let server = Terminal::start(&screen, timeout)?;
            let pid = server.child.id();
            let client =
                run(&transcript, Some(server.addr), Some(pid), timeout)
                    .and_then(|got| transcript.check(got));
            let server = server
                .finish(&screen, timeout)
                .and_then(|got| screen.check(got))
                .map_err(|e| format!("the server's terminal, {terminal}: {e}"));
            match (client, server) {
                (Ok(()), Ok(())) => Ok(()),
                (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
                (Err(a), Err(b)) => Err(format!("{a}\n\n{b}")),
            }
        }
        Server::Terminal => {
            let server = Terminal::start(&transcript, timeout)?;
            transcript.check(server.finish(&transcript, timeout)?)
        }
    }
}

/// A session file: its commands, each with the output the book shows.
struct Transcript {
    file: &'static str,
    text: String,
    steps: Vec<Step>,
}

/// One command and what it printed.
struct Step {
    command: String,
    output: String,
}

impl Transcript {
    fn read(file: &'static str) -> Result<Transcript, String> {
        let path = sessions_dir().join(file);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut steps: Vec<Step> = Vec::new();
        for line in text.split_inclusive('\n') {
            if let Some(command) = line.strip_prefix("$ ") {
                steps.push(Step {
                    command: command.trim_end_matches('\n').to_string(),
                    output: String::new(),
                });
            } else if let Some(step) = steps.last_mut() {
                step.output.push_str(line);
            } else {
                return Err("the first line must be `$ <command>`".into());
            }
        }
        if steps.is_empty() {
            return Err("the file has no `$ <command>` line".into());
        }
        Ok(Transcript { file, text, steps })
    }

    /// How many lines the first command's output has: for a server's
    /// terminal, how many to wait for.
    fn first_output_lines(&self) -> usize {
        self.steps[0].output.lines().count().max(1)
    }

    /// Compares what each command printed (normalised) with the file, or
    /// rewrites the file with it when updating.
    fn check(&self, outputs: Vec<String>) -> Result<(), String> {
        let got: String = self
            .steps
            .iter()
            .zip(&outputs)
            .map(|(step, output)| format!("$ {}\n{output}", step.command))
            .collect();
        if updating() {
            let path = sessions_dir().join(self.file);
            return fs::write(&path, &got)
                .map_err(|e| format!("cannot write {}: {e}", path.display()));
        }
        if got == self.text {
            Ok(())
        } else {
            Err(format!(
                "the book shows:\n{}\nthe replay printed:\n{}",
                indent(&self.text),
                indent(&got)
            ))
        }
    }
}

/// `cargo run -q -p NAME [--bin BIN] [-- ARGS…]`: the binary and its
/// arguments, or why the command is not of that form.
fn cargo_run(command: &str) -> Result<(String, Vec<String>), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let Some((name, used)) = cargo_run_prefix(&words) else {
        return Err(format!("`{command}` is not `cargo run -q -p NAME …`"));
    };
    let args: Vec<String> =
        words[used..].iter().map(|w| (*w).to_string()).collect();
    let plain = |a: &String| {
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.=/:".contains(c))
    };
    if !args.iter().all(plain) || args.iter().any(|a| a == "--port") {
        return Err(format!(
            "`{command}`: the server's arguments must be plain words, \
             without --port"
        ));
    }
    Ok((name, args))
}

/// The binary named by `cargo run -q -p NAME [--bin BIN] [--]` at the
/// start of `words`, and how many words that took.
fn cargo_run_prefix(words: &[&str]) -> Option<(String, usize)> {
    let [cargo, run, quiet, package, name, rest @ ..] = words else {
        return None;
    };
    if [*cargo, *run, *quiet, *package] != ["cargo", "run", "-q", "-p"] {
        return None;
    }
    let (binary, mut used) = match rest {
        ["--bin", bin, ..] => (*bin, 7),
        _ => (*name, 5),
    };
    if words.get(used) == Some(&"--") {
        used += 1;
    }
    Some((binary.to_string(), used))
}

/// The command as the harness runs it: the real address, and real
/// binaries for `cargo run`.
fn localise(command: &str, port: u16) -> Result<String, String> {
    let mut command = command
        .replace(BOOK_ADDR, &format!("127.0.0.1:{port}"))
        .replace(BOOK_ADDR_NC, &format!("127.0.0.1 {port}"))
        .replace(BOOK_PORT_FLAG, &format!("--port {port}"));
    while let Some(at) = command.find("cargo run") {
        let words: Vec<&str> = command[at..].split_whitespace().collect();
        let Some((binary, used)) = cargo_run_prefix(&words) else {
            return Err(format!(
                "`{command}`: write `cargo run -q -p NAME …`; without -q, \
                 cargo's own messages would be in the transcript"
            ));
        };
        // The words are separated by single spaces in every session.
        let len = words[..used].join(" ").len();
        let path = binary_path(&binary);
        command.replace_range(at..at + len, &format!("'{}'", path.display()));
    }
    Ok(command)
}

/// The shell that runs a session: it reads the commands on stdin once
/// the port is known, then runs them with stdin closed. Its stderr is a
/// side channel for the harness until then.
const SHELL_TAIL: &str = "exec 2>&1
SESSION_SCRIPT=$(cat)
exec </dev/null
eval \"$SESSION_SCRIPT\"
";

/// Starts a session's own server as the shell's background job, its
/// stdout on a pipe that the shell reads the serving line from, passes
/// to the harness on stderr, then drains to `/dev/null`.
fn server_start_prologue(binary: &Path, args: &[String]) -> String {
    format!(
        "d=$(mktemp -d) && mkfifo \"$d/out\" || exit 97
'{binary}' --port 0 {args} 2>&1 >\"$d/out\" </dev/null & SERVER_PID=$!
exec 4<\"$d/out\"
rm -r \"$d\"
IFS= read -r serving <&4 || exit 98
printf '%s\\n' \"$serving\" >&2
cat <&4 >/dev/null 2>&1 &
exec 4<&-
",
        binary = binary.display(),
        args = args.join(" "),
    )
}

/// Runs a session's commands in one `sh` against the server at `addr`
/// (or, with `None`, the one its first command starts); returns each
/// command's normalised output. `server_pid`, the process id of a server
/// with a terminal, is `$SERVER_PID` in the commands.
fn run(
    transcript: &Transcript,
    addr: Option<SocketAddr>,
    server_pid: Option<u32>,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let commands: Vec<&str> = transcript
        .steps
        .iter()
        .map(|s| s.command.as_str())
        .collect();
    let uses_server = commands.iter().any(|c| {
        [BOOK_ADDR, BOOK_ADDR_NC, BOOK_PORT_FLAG]
            .iter()
            .any(|a| c.contains(a))
    });
    if !uses_server {
        return Err(format!(
            "no command uses {BOOK_ADDR}, {BOOK_ADDR_NC} or {BOOK_PORT_FLAG}"
        ));
    }
    let (prologue, to_run) = match addr {
        Some(_) => (String::new(), &commands[..]),
        None => {
            let start = commands[0]
                .strip_suffix(SERVER_START_SUFFIX)
                .ok_or_else(|| {
                    format!(
                        "the first command must start the server: \
                         `cargo run -q -p NAME …{SERVER_START_SUFFIX}`"
                    )
                })?;
            let (binary, args) = cargo_run(start)?;
            let prologue = server_start_prologue(&binary_path(&binary), &args);
            (prologue, &commands[1..])
        }
    };
    let (out_read, out_write) = io::pipe().map_err(|e| e.to_string())?;
    let (side_read, side_write) = io::pipe().map_err(|e| e.to_string())?;
    let mut command = Command::new("sh");
    if let Some(pid) = server_pid {
        command.env("SERVER_PID", pid.to_string());
    }
    let spawned = command
        .arg("-c")
        .arg(format!("{prologue}{SHELL_TAIL}"))
        .stdin(Stdio::piped())
        .stdout(out_write)
        .stderr(side_write)
        // Its own process group, so that what it leaves running (and a
        // timeout) can be killed together.
        .process_group(0)
        .spawn();
    // The command holds our copies of the pipes' writing ends: without
    // this drop, the readers below would never see the end of them.
    drop(command);
    let mut shell = spawned.map_err(|e| format!("cannot run sh: {e}"))?;
    let group = shell.id();
    let mut script_in = shell.stdin.take().ok_or("no stdin pipe")?;
    let output = thread::spawn(move || read_all(out_read));
    let side = thread::spawn(move || read_all(side_read));
    let (exited_tx, exited) = mpsc::channel();
    thread::spawn(move || exited_tx.send(shell.wait()));
    let deadline = Instant::now() + timeout;

    // The shell closes the side channel once its server (if any) is up.
    let side = join_by(side, deadline);
    let port = match (addr, &side) {
        (Some(addr), _) => Ok(addr.port()),
        (None, Some(serving)) => parse_serving_line(serving)
            .map(|a| a.port())
            .ok_or_else(|| format!("the server did not start: {serving:?}")),
        (None, None) => Err("the server did not start in time".to_string()),
    };
    let script = port.and_then(|port| {
        let mut script = String::new();
        for (i, command) in to_run.iter().enumerate() {
            if i > 0 || addr.is_none() {
                script.push_str(&format!(
                    "printf '\\{:03o}'\n",
                    NEXT_COMMAND as u32
                ));
            }
            script.push_str(&localise(command, port)?);
            script.push('\n');
        }
        Ok((port, script))
    });
    let (port, script) = match script {
        Ok(ok) => ok,
        Err(e) => {
            kill_group(group);
            return Err(e);
        }
    };
    // A shell that died early no longer reads; its output says why.
    let _ = script_in.write_all(script.as_bytes());
    drop(script_in);

    let remaining = deadline.saturating_duration_since(Instant::now());
    let finished = exited.recv_timeout(remaining).is_ok();
    // Whatever is still running: background jobs, a server left up.
    kill_group(group);
    let output = output.join().map_err(|_| "reader thread panicked")?;
    let output = String::from_utf8_lossy(&output).into_owned();
    if !finished {
        return Err(format!(
            "still running after {timeout:?}; it printed:\n{}",
            indent(&output)
        ));
    }
    let outputs: Vec<String> = output
        .split(NEXT_COMMAND)
        .map(|o| normalise(o, port))
        .collect();
    if outputs.len() != commands.len() {
        return Err(format!(
            "the shell stopped after {} of {} commands; it printed:\n{}",
            outputs.len(),
            commands.len(),
            indent(&output)
        ));
    }
    Ok(outputs)
}

fn read_all(mut from: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = from.read_to_end(&mut out);
    out
}

/// What `reader` read, as text, if it finished before `deadline`.
fn join_by(
    reader: thread::JoinHandle<Vec<u8>>,
    deadline: Instant,
) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(reader.join()));
    let remaining = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(remaining) {
        Ok(Ok(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    }
}

/// Kills every process in the group, if any is left.
fn kill_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A real server binary with its terminal (stdout and stderr together)
/// on a pipe the harness reads.
struct Terminal {
    child: Child,
    addr: SocketAddr,
    screen: Arc<Screen>,
    reader: thread::JoinHandle<()>,
}

/// What a server has printed so far, and whether it has closed its end.
#[derive(Default)]
struct Screen {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Screen {
    /// Waits until the server has printed `lines` lines or closed its
    /// output, at most `timeout`; whether it has the lines.
    fn wait_for_lines(&self, lines: usize, timeout: Duration) -> bool {
        let count =
            |s: &(Vec<u8>, bool)| s.0.iter().filter(|b| **b == b'\n').count();
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| count(s) < lines && !s.1)
            .unwrap_or_else(PoisonError::into_inner);
        count(&state) >= lines
    }

    fn text(&self) -> String {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&state.0).into_owned()
    }
}

impl Terminal {
    /// Starts the binary that `transcript`'s one command names, on a
    /// free port, and waits for its serving line.
    fn start(
        transcript: &Transcript,
        timeout: Duration,
    ) -> Result<Terminal, String> {
        let command = &transcript.steps[0].command;
        let (binary, args) = cargo_run(command)?;
        let (mut out, write) = io::pipe().map_err(|e| e.to_string())?;
        let write_err = write.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(binary_path(&binary))
            .args(["--port", "0"])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(write)
            .stderr(write_err)
            .spawn()
            .map_err(|e| format!("cannot run {binary}: {e}"))?;
        let screen = Arc::new(Screen::default());
        let shared = Arc::clone(&screen);
        let reader = thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                let n = out.read(&mut chunk).unwrap_or(0);
                let mut state =
                    shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                if n == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&chunk[..n]);
                }
                shared.changed.notify_all();
                if n == 0 {
                    break;
                }
            }
        });
        let mut terminal = Terminal {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            screen,
            reader,
        };
        terminal.screen.wait_for_lines(1, timeout);
        let text = terminal.screen.text();
        let first = text.lines().next().unwrap_or("");
        match parse_serving_line(first) {
            Some(addr) => {
                terminal.addr = addr;
                Ok(terminal)
            }
            None => {
                let _ = terminal.finish(transcript, Duration::ZERO);
                Err(format!("{binary} did not start: it printed {text:?}"))
            }
        }
    }

    /// Waits until the server has printed as many lines as `transcript`
    /// shows (at most `timeout`), stops it, and returns its normalised
    /// output.
    fn finish(
        mut self,
        transcript: &Transcript,
        timeout: Duration,
    ) -> Result<Vec<String>, String> {
        self.screen
            .wait_for_lines(transcript.first_output_lines(), timeout);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reader.join().map_err(|_| "reader thread panicked")?;
        Ok(vec![normalise(&self.screen.text(), self.addr.port())])
    }
}

/// Makes a replay comparable; see the module docs for what and why.
fn normalise(output: &str, port: u16) -> String {
    let mut out = String::new();
    for line in output.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if ["* ", "{ [", "} ["].iter().any(|p| line.starts_with(p)) {
            continue;
        }
        let line = mask_ports(line, port);
        let line = mask_log_time(&mask_dates(&mask_curl_version(&line)));
        let line = mask_worker(&mask_no_read_counts(&line));
        out.push_str(&round_times(&line));
        out.push('\n');
    }
    out
}

/// The server's port becomes `8888`; a client's port becomes `<port>`.
fn mask_ports(line: &str, port: u16) -> String {
    const BEFORE_PORT: [&str; 3] = ["127.0.0.1:", "127.0.0.1 ", "port "];
    let port = port.to_string();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some((at, before)) = BEFORE_PORT
        .iter()
        .filter_map(|b| rest.find(b).map(|at| (at, *b)))
        .min()
    {
        let after = &rest[at + before.len()..];
        let len = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        out.push_str(&rest[..at + before.len()]);
        let digits = &after[..len];
        if digits == port {
            out.push_str("8888");
        } else if before == "127.0.0.1:" && !digits.is_empty() {
            out.push_str("<port>");
        } else {
            out.push_str(digits);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `Date: …`, `Last-Modified: …` and `ETag: …`, bare (`nc`, `curl -i`)
/// or after curl's `< `, get a fixed value; the `\r\n` that `misbehave`
/// writes out after a line stays.
fn mask_dates(line: &str) -> String {
    let (prefix, field) = match line.strip_prefix("< ") {
        Some(rest) => ("< ", rest),
        None => ("", line),
    };
    let escaped_end = if field.ends_with("\\r\\n") {
        "\\r\\n"
    } else {
        ""
    };
    for (name, mask) in [
        ("Date", "<date>"),
        ("Last-Modified", "<date>"),
        ("ETag", "<etag>"),
    ] {
        let Some((field_name, _)) = field.split_once(": ") else {
            continue;
        };
        if field_name.eq_ignore_ascii_case(name) {
            return format!("{prefix}{field_name}: {mask}{escaped_end}");
        }
    }
    line.to_string()
}

/// The time of a Common Log Format line, `[30/Nov/2026:06:50:16 +0000]`,
/// becomes `[<date>]`.
fn mask_log_time(line: &str) -> String {
    // dd/Mon/yyyy:hh:mm:ss +zzzz, with 'd' for any digit.
    const SHAPE: &[u8] = b"dd/Mon/dddd:dd:dd:dd +dddd]";
    let fits = |text: &[u8]| {
        text.len() >= SHAPE.len()
            && SHAPE.iter().zip(text).all(|(want, got)| match want {
                b'd' => got.is_ascii_digit(),
                b'M' => got.is_ascii_uppercase(),
                b'o' | b'n' => got.is_ascii_lowercase(),
                b'+' => matches!(got, b'+' | b'-'),
                _ => want == got,
            })
    };
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('[') {
        let after = &rest[at + 1..];
        out.push_str(&rest[..=at]);
        if fits(after.as_bytes()) {
            out.push_str("<date>]");
            rest = &after[SHAPE.len()..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `job taken by worker 1` → `job taken by worker <n>`, and the same
/// for `resumed by`: which idle worker takes a job is the OS's choice.
fn mask_worker(line: &str) -> String {
    for event in ["job taken by worker ", "job resumed by worker "] {
        if let Some(at) = line.find(event) {
            let (before, number) = line.split_at(at + event.len());
            if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
            {
                return format!("{before}<n>");
            }
        }
    }
    line.to_string()
}

/// `misbehave no-read`'s counts: how many requests the kernel's buffers
/// took before its writes blocked (`=> A: 68654 of 1000000 …` becomes
/// `<n> of 1000000`) and how many probes fitted in its time, if all were
/// answered (`=> others: 7 of 7 answered` becomes `<n> of <n>`).
fn mask_no_read_counts(line: &str) -> String {
    let count = |text: &str| -> Option<(u64, usize)> {
        let len = text.find(|c: char| !c.is_ascii_digit())?;
        Some((text[..len].parse().ok()?, len))
    };
    if let Some(rest) = line.strip_prefix("=> A: ")
        && let Some((_, len)) = count(rest)
        && rest[len..].starts_with(" of ")
    {
        return format!("=> A: <n>{}", &rest[len..]);
    }
    if let Some(rest) = line.strip_prefix("=> others: ")
        && let Some((answered, len)) = count(rest)
        && let Some(after) = rest[len..].strip_prefix(" of ")
        && let Some((probes, len)) = count(after)
        && answered == probes
    {
        return format!("=> others: <n> of <n>{}", &after[len..]);
    }
    line.to_string()
}

/// `curl/7.88.1` → `curl/<version>`.
fn mask_curl_version(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("curl/") {
        let after = &rest[i + 5..];
        let len = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        out.push_str(&rest[..i + 5]);
        if len > 0 {
            out.push_str("<version>");
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Rust's `{:.2?}` units, in seconds.
const RUST_UNITS: [(&str, f64); 4] =
    [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)];

/// `1.797506s` → `~2s` (curl's `%{time_total}`: six decimals, to the
/// nearest second); `501.09ms` → `   ~0.5s` (Rust's `{:.2?}`: two
/// decimals, to the nearest half second, as wide as before).
fn round_times(line: &str) -> String {
    let bytes = line.as_bytes();
    let digits_from = |at: usize| {
        at + bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            && (i == 0
                || !(bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'));
        if !starts_number {
            i += 1;
            continue;
        }
        let int_end = digits_from(i);
        let end = if bytes.get(int_end) == Some(&b'.') {
            digits_from(int_end + 1)
        } else {
            int_end
        };
        let decimals = end.saturating_sub(int_end + 1);
        let value: f64 = line[i..end].parse().unwrap_or(f64::NAN);
        let unit = RUST_UNITS.iter().find(|(unit, _)| {
            line[end..].starts_with(unit)
                && !line[end + unit.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric())
        });
        let rounded = match unit {
            Some(("s", _)) if decimals == 6 => {
                Some((format!("~{}s", value.round()), 1))
            }
            Some((unit, scale)) if decimals == 2 => {
                // Late by up to 0.4 s, early by up to 0.1 s.
                let halves = ((value * scale + 0.1) * 2.0).floor() / 2.0;
                Some((format!("~{halves:.1}s"), unit.len()))
            }
            _ => None,
        };
        if let Some((text, unit_len)) = rounded {
            let token_end = end + unit_len;
            let width = line[i..token_end].chars().count();
            out.push_str(&line[copied..i]);
            if decimals == 2 {
                out.push_str(&format!("{text:>width$}"));
            } else {
                out.push_str(&text);
            }
            copied = token_end;
            i = token_end;
        } else {
            i = end;
        }
    }
    out.push_str(&line[copied..]);
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails at once, and clearly, when a command the sessions use is
/// missing (CI installs them).
fn require_tools(tools: &[&str]) {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            !Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the book's sessions need {missing:?} on PATH \
         (Debian/Ubuntu: apt-get install curl netcat-openbsd telnet)"
    );
}

#[test]
fn normalising_masks_only_what_varies() {
    let raw = "*   Trying 127.0.0.1:4242...\r\n\
               > GET / HTTP/1.1\r\n\
               > Host: 127.0.0.1:4242\r\n\
               > User-Agent: curl/8.5.0\r\n\
               < Date: Sat, 21 Nov 2026 21:36:17 GMT\r\n\
               < Date: Sat, 21 Nov 2026 21:36:17 GMT\\r\\n\n\
               Last-Modified: Sat, 21 Nov 2026 21:35:33 GMT\r\n\
               ETag: \"5c-1881bcd2a8c1f2e0\"\r\n\
               { [14 bytes data]\n\
               Hello\n\
               Connection from 127.0.0.1:51234 to 127.0.0.1 4242, port 4242\n\
               #1 200 1.948165s 0.000373s, 12.5s 3.1234567s 2.000000sec\n\
               sent at  49.18µs, answered at 741.09ms (took    1.00s) 0.5s\n\
               late 4.37s 1.39s, early 0.41s\n\
               trace #2 job taken by worker 1\n\
               trace #2 job resumed by worker 12\n\
               => A: 68654 of 1000000 requests written, then blocked\n\
               => others: 7 of 7 answered\n\
               => others: 6 of 7 answered\n\
               127.0.0.1 - - [30/Nov/2026:06:50:16 +0000] \"GET / HTTP/1.1\" \
               200 14 [x] [30/Nov/2026]";
    assert_eq!(
        normalise(raw, 4242),
        "> GET / HTTP/1.1\n\
         > Host: 127.0.0.1:8888\n\
         > User-Agent: curl/<version>\n\
         < Date: <date>\n\
         < Date: <date>\\r\\n\n\
         Last-Modified: <date>\n\
         ETag: <etag>\n\
         Hello\n\
         Connection from 127.0.0.1:<port> to 127.0.0.1 8888, port 8888\n\
         #1 200 ~2s ~0s, 12.5s 3.1234567s 2.000000sec\n\
         sent at    ~0.0s, answered at    ~0.5s (took    ~1.0s) 0.5s\n\
         late ~4.0s ~1.0s, early ~0.5s\n\
         trace #2 job taken by worker <n>\n\
         trace #2 job resumed by worker <n>\n\
         => A: <n> of 1000000 requests written, then blocked\n\
         => others: <n> of <n> answered\n\
         => others: 6 of 7 answered\n\
         127.0.0.1 - - [<date>] \"GET / HTTP/1.1\" 200 14 [x] [30/Nov/2026]\n"
    );
}

#[test]
fn commands_run_the_real_binaries_against_the_real_port() {
    let misbehave = binary_path("misbehave");
    assert_eq!(
        localise(
            "cargo run -q -p misbehave -- parallel --port 8888 && \
             curl http://127.0.0.1:8888/ | nc 127.0.0.1 8888",
            4242
        ),
        Ok(format!(
            "'{}' parallel --port 4242 && curl http://127.0.0.1:4242/ | \
             nc 127.0.0.1 4242",
            misbehave.display()
        ))
    );
    assert!(localise("cargo run -p misbehave -- parallel", 4242).is_err());
    assert_eq!(
        cargo_run("cargo run -q -p part1-hello --bin part1-oneshot"),
        Ok(("part1-oneshot".into(), vec![]))
    );
    assert_eq!(
        cargo_run("cargo run -q -p part4-threads -- --shutdown-timeout 1"),
        Ok((
            "part4-threads".into(),
            vec!["--shutdown-timeout".into(), "1".into()]
        ))
    );
    assert!(cargo_run("cargo run -q -p part4-threads -- --port 9").is_err());
}
