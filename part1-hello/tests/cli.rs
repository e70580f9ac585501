//! Part 1's one-shot listing, run as a reader runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const ONESHOT: &str = env!("CARGO_BIN_EXE_part1-oneshot");

#[test]
fn bad_flag_is_one_line_and_exit_2() {
    // The main binary's command line is checked with every part's in
    // the shared suite (`tests/tests/cli.rs`); this is the one-shot's.
    let out = Command::new(ONESHOT).arg("--bogus").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--bogus"), "{err}");
}

#[test]
fn oneshot_serves_one_request_and_exits() {
    let mut child = Command::new(ONESHOT)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("serving line");
    let addr = line
        .strip_prefix("Serving HTTP on http://")
        .and_then(|rest| rest.split('/').next())
        .expect("serving line")
        .to_string();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /hi HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nHello, World!\n"), "{answer}");
    let status = child.wait().expect("exit");
    assert!(status.success());
    let mut printed = String::new();
    stdout.read_to_string(&mut printed).expect("rest of stdout");
    assert!(printed.contains("GET /hi HTTP/1.1"), "{printed}");
}
