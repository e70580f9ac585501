//! `--trace`, read from the real binary's stdout, with both dispatchers:
//! a request's job is queued, taken by a worker, finished, and the loop
//! woken for it, among the loop's own lines and in that order.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_part4-threads");

/// Long enough for a loaded machine; a passing run never waits for it.
const PATIENCE: Duration = Duration::from_secs(10);

/// The binary on port 0, its stdout arriving line by line.
struct Server {
    child: Child,
    lines: Receiver<String>,
    port: u16,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--workers", "2"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run part4-threads");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut server = Server {
            child,
            lines,
            port: 0,
        };
        let serving = server.next_line();
        server.port = serving
            .strip_prefix("Serving HTTP on http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no serving line: {serving:?}"));
        server
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("the server printed a line in time")
    }

    /// Lines up to and including the first that starts with `last`.
    fn lines_until(&self, last: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.next_line();
            let done = line.starts_with(last);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Sends `request` on a new connection, reads the whole response
    /// (the request asks to close), and returns its length.
    fn exchange(&self, request: &str) -> usize {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("read the response");
        assert!(response.starts_with(b"HTTP/1.1 200 OK"), "{response:?}");
        response.len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connection #1's lines, without `#1` and without the readiness lines
/// (`readable`, `read would block`): when those come depends on timing.
fn events(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("trace #1 "))
        .filter(|l| !l.starts_with("readable") && *l != "read would block")
        .map(str::to_string)
        .collect()
}

/// Which worker the line `job taken by worker N` names, checked to be one
/// of the two.
fn worker(events: &[String]) -> String {
    let taken = events
        .iter()
        .find_map(|e| e.strip_prefix("job taken by worker "))
        .unwrap_or_else(|| panic!("no job taken in {events:#?}"));
    assert!(["0", "1"].contains(&taken), "{events:#?}");
    taken.to_string()
}

const SLEEP: &str =
    "GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn a_job_is_queued_taken_finished_then_the_loop_is_woken() {
    for dispatch in ["plain", "fast"] {
        let server = Server::start(&["--trace", "--dispatch", dispatch]);
        let written = server.exchange(SLEEP);
        let lines = server.lines_until("trace #1 close");
        let got = events(&lines);
        let expected = [
            "accept".to_string(),
            format!("read {} bytes", SLEEP.len()),
            "Idle -> Head".into(),
            "job queued".into(),
            "Head -> Respond GET /sleep?ms=200".into(),
            format!("job taken by worker {}", worker(&got)),
            // The app sleeps: the loop sleeps too, until the worker is done.
            "job finished".into(),
            "loop woken".into(),
            format!("wrote {written} bytes"),
            "close: response done, not kept alive".into(),
        ];
        let got_words: Vec<&str> = got
            .iter()
            .map(|e| {
                if e.starts_with("accept ") {
                    "accept"
                } else {
                    e
                }
            })
            .collect();
        assert_eq!(got_words, expected, "{dispatch}: {lines:#?}");
    }
}

#[test]
fn a_quick_job_is_traced_in_order_too() {
    // The worker may be done before the loop looks for the answer: then
    // the loop writes it without being woken first, and `loop woken`
    // comes later or not at all. The rest keeps its order.
    let hello = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for dispatch in ["plain", "fast"] {
        let server = Server::start(&["--trace", "--dispatch", dispatch]);
        let written = server.exchange(hello);
        let lines = server.lines_until("trace #1 close");
        let got: Vec<String> = events(&lines)
            .into_iter()
            .filter(|e| e != "loop woken")
            .collect();
        let expected = [
            "job queued".to_string(),
            "Head -> Respond GET /hello".into(),
            format!("job taken by worker {}", worker(&got)),
            "job finished".into(),
            format!("wrote {written} bytes"),
        ];
        let from = got.iter().position(|e| e == "job queued");
        assert_eq!(
            from.map(|at| &got[at..at + expected.len()]),
            Some(&expected[..]),
            "{dispatch}: {lines:#?}"
        );
    }
}

#[test]
fn no_job_lines_without_the_flag() {
    let server = Server::start(&[]);
    server.exchange(SLEEP);
    let lines = server.lines_until("127.0.0.1 - - ");
    assert!(!lines.iter().any(|l| l.starts_with("trace")), "{lines:#?}");
}
