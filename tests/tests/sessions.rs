//! Every terminal session the book shows is one this test replays.
//!
//! A session is a file in `book/src/sessions/`: its first line is
//! `$ <command>`, written against `127.0.0.1:8888`, and the rest is what
//! the command printed (stdout and stderr, as a terminal shows them). The
//! chapters include these files; they never paste a session by hand.
//!
//! For each file in [`MANIFEST`] the test starts the named part in-process
//! on a free port, runs the command with `sh -c` (the address replaced by
//! the real one, `127.0.0.1 8888` too for `nc`, stdin closed, killed after [`TIMEOUT`]
//! unless its manifest line allows longer), normalises the
//! output and compares it with the file. Normalising only touches what
//! must vary from run to run or machine to machine:
//!
//! - the real port becomes `8888` again;
//! - the values of `Date` and `Last-Modified` become `<date>`;
//! - curl's version in `User-Agent` becomes `curl/<version>`;
//! - a time as curl's `%{time_total}` prints it, a number with exactly
//!   six decimals followed by `s`, is rounded to the nearest second and
//!   marked with `~` (`1.797506s` becomes `~2s`): the sessions that show
//!   one are about whole seconds of waiting, which survive the rounding,
//!   while the milliseconds a loaded machine adds do not fail them;
//! - curl's own chatter (lines starting with `* `, `{ [` or `} [`) is
//!   dropped: it is worded differently by every curl release;
//! - a CR before a line feed is dropped (a book cannot show it), and the
//!   output ends with a line feed.
//!
//! Adding a session: write the file with just its `$ command` line, add
//! one line to [`MANIFEST`], then record it:
//!
//! ```text
//! UPDATE_SESSIONS=1 cargo test -p tests --test sessions
//! ```
//!
//! With `UPDATE_SESSIONS=1` the test writes each file (command line plus
//! normalised output) instead of comparing; review the diff before
//! committing. A file in the directory that is not in the manifest, or a
//! manifest line without its file, fails the test: no session in the
//! book goes unreplayed. The commands need `curl` and `nc` on `PATH`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tests::{Options, Part};

/// One replayed session: its file, the part serving it, and how.
struct Session {
    file: &'static str,
    part: Part,
    options: fn() -> Options,
    /// How long the command may run before it is killed, and fails.
    timeout: Duration,
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

/// Every session file in `book/src/sessions/`, one line each.
const MANIFEST: &[Session] = &[
    s("part1-curl-v.txt", Part::Part1, Options::default),
    s("part1-curl-hi.txt", Part::Part1, Options::default),
    s("part1-nc.txt", Part::Part1, Options::default),
    s("part1-nc-od.txt", Part::Part1, Options::default),
    s("part1-telnet.txt", Part::Part1, Options::default),
    s("part2-curl-hello.txt", Part::Part2, demo),
    s("part2-curl-echo.txt", Part::Part2, demo),
    s("part2-curl-chunked.txt", Part::Part2, demo),
    s("part2-curl-continue.txt", Part::Part2, demo),
    s("part2-curl-head-static.txt", Part::Part2, demo),
    s("part2-curl-wsgi.txt", Part::Part2, demo),
    s("part2-curl-wsgi-text.txt", Part::Part2, demo),
    s("part2-curl-gzip.txt", Part::Part2, demo),
    s("part2-nc-505.txt", Part::Part2, demo),
    s("part2-nc-smuggle.txt", Part::Part2, demo),
    s("part2-nc-pipeline.txt", Part::Part2, demo),
    s("part2-curl-environ.txt", Part::Part2, demo),
    s("part2-curl-http10.txt", Part::Part2, demo),
    s("part2-curl-traversal.txt", Part::Part2, demo),
    s("part3-nc-pipeline.txt", Part::Part3, demo),
    s("part3-nc-half-close.txt", Part::Part3, demo),
    s("part3-telnet-slowloris.txt", Part::Part3, book_defaults)
        .timeout(Duration::from_secs(15)),
    s("part3-curl-slow-app.txt", Part::Part3, book_defaults),
    s(
        "part4-curl-queue-full.txt",
        Part::Part4,
        one_worker_one_queued,
    ),
];

const fn s(
    file: &'static str,
    part: Part,
    options: fn() -> Options,
) -> Session {
    Session {
        file,
        part,
        options,
        timeout: TIMEOUT,
    }
}

/// A command still running after this long is killed, and fails, unless
/// its manifest line gives it a [`Session::timeout`] of its own.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The address every session is written against: `127.0.0.1:8888` in
/// URLs, `127.0.0.1 8888` for `nc` and `telnet`.
const BOOK_ADDR: &str = "127.0.0.1:8888";
const BOOK_ADDR_NC: &str = "127.0.0.1 8888";

fn sessions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/sessions")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SESSIONS").is_some_and(|v| v == "1")
}

#[test]
fn every_session_in_the_book_replays() {
    require_tools(&["curl", "nc", "telnet", "od"]);
    let mut failures = Vec::new();
    for session in MANIFEST {
        if let Err(problem) = replay(session) {
            failures.push(format!("{}: {problem}", session.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} session(s) differ (UPDATE_SESSIONS=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_manifest_and_the_directory_agree() {
    let listed: BTreeSet<&str> = MANIFEST.iter().map(|s| s.file).collect();
    assert_eq!(listed.len(), MANIFEST.len(), "a file is listed twice");
    let on_disk: BTreeSet<String> = fs::read_dir(sessions_dir())
        .expect("book/src/sessions")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let unlisted: Vec<&String> = on_disk
        .iter()
        .filter(|f| !listed.contains(f.as_str()))
        .collect();
    let missing: Vec<&&str> =
        listed.iter().filter(|f| !on_disk.contains(**f)).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "sessions not in the manifest (never replayed): {unlisted:?}; \
         manifest lines without a file: {missing:?}"
    );
}

/// Replays one session; `Err` says how it differs.
fn replay(session: &Session) -> Result<(), String> {
    let path = sessions_dir().join(session.file);
    let text = fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("");
    let command = first
        .strip_prefix("$ ")
        .ok_or("the first line must be `$ <command>`")?;
    if !command.contains(BOOK_ADDR) && !command.contains(BOOK_ADDR_NC) {
        return Err(format!(
            "the command uses neither {BOOK_ADDR} nor {BOOK_ADDR_NC}"
        ));
    }
    let server = tests::start(session.part, &(session.options)());
    let real = server.addr();
    let addr = real.to_string();
    let addr_nc = format!("{} {}", real.ip(), real.port());
    let real_command = command
        .replace(BOOK_ADDR, &addr)
        .replace(BOOK_ADDR_NC, &addr_nc);
    let output = run(&real_command, session.timeout)?;
    drop(server);
    let got = format!("$ {command}\n{}", normalise(&output, &addr));
    if updating() {
        fs::write(&path, &got)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        return Ok(());
    }
    if got == text {
        Ok(())
    } else {
        Err(format!(
            "the book shows:\n{}\nthe replay printed:\n{}",
            indent(&text),
            indent(&got)
        ))
    }
}

/// Runs `command` with `sh -c`, stdout and stderr in one pipe, as a
/// terminal interleaves them; kills it (and its children) at `timeout`.
fn run(command: &str, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{{ {command}\n}} 2>&1"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a timeout kills `nc` or `curl` too,
        // not just the shell.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let timed_out = loop {
        match child.try_wait() {
            Ok(Some(_)) => break false,
            Ok(None) if started.elapsed() > timeout => break true,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for sh: {e}")),
        }
    };
    if timed_out {
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = reader.join().map_err(|_| "reader thread panicked")?;
    let out = String::from_utf8_lossy(&out).into_owned();
    if timed_out {
        return Err(format!(
            "still running after {timeout:?}; it printed:\n{}",
            indent(&out)
        ));
    }
    Ok(out)
}

/// Makes a replay comparable; see the module docs for what and why.
fn normalise(output: &str, addr: &str) -> String {
    let output = output.replace(addr, BOOK_ADDR);
    let mut out = String::new();
    for line in output.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if ["* ", "{ [", "} ["].iter().any(|p| line.starts_with(p)) {
            continue;
        }
        out.push_str(&round_times(&mask_dates(&mask_curl_version(line))));
        out.push('\n');
    }
    out
}

/// `Date: …` and `Last-Modified: …`, bare (`nc`, `curl -i`) or after
/// curl's `< `, get a fixed value.
fn mask_dates(line: &str) -> String {
    let (prefix, field) = match line.strip_prefix("< ") {
        Some(rest) => ("< ", rest),
        None => ("", line),
    };
    for name in ["Date", "Last-Modified"] {
        let Some((field_name, _)) = field.split_once(": ") else {
            continue;
        };
        if field_name.eq_ignore_ascii_case(name) {
            return format!("{prefix}{field_name}: <date>");
        }
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

/// `1.797506s` → `~2s`: a time with exactly six decimals (curl's
/// `%{time_total}`) and a unit of seconds, to the nearest second.
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
        let is_time = end - int_end == 7
            && bytes.get(end) == Some(&b's')
            && !bytes
                .get(end + 1)
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if is_time {
            let seconds: f64 = line[i..end].parse().unwrap_or(f64::NAN);
            out.push_str(&line[copied..i]);
            out.push_str(&format!("~{}", seconds.round()));
            copied = end;
        }
        i = end;
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
         (Debian/Ubuntu: apt-get install curl netcat-openbsd)"
    );
}

#[test]
fn normalising_masks_only_what_varies() {
    let raw = "*   Trying 127.0.0.1:4242...\r\n\
               > GET / HTTP/1.1\r\n\
               > Host: 127.0.0.1:4242\r\n\
               > User-Agent: curl/8.5.0\r\n\
               < Date: Sat, 21 Nov 2026 21:36:17 GMT\r\n\
               Last-Modified: Sat, 21 Nov 2026 21:35:33 GMT\r\n\
               { [14 bytes data]\n\
               Hello\n\
               #1 200 1.948165s 0.000373s, 12.5s 3.1234567s 2.000000sec";
    assert_eq!(
        normalise(raw, "127.0.0.1:4242"),
        "> GET / HTTP/1.1\n\
         > Host: 127.0.0.1:8888\n\
         > User-Agent: curl/<version>\n\
         < Date: <date>\n\
         Last-Modified: <date>\n\
         Hello\n\
         #1 200 ~2s ~0s, 12.5s 3.1234567s 2.000000sec\n"
    );
}
