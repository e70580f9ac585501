//! `--trace`, on the real binary: one `trace #N …` line per socket event
//! of each connection, and none without the flag.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

const HELLO: &str = env!("CARGO_BIN_EXE_part1-hello");
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// The server with `args`, its stdout, and the address it serves.
fn start(args: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(HELLO)
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run part1-hello");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("serving line");
    let addr = line
        .strip_prefix("Serving HTTP on http://")
        .and_then(|rest| rest.split('/').next())
        .expect("serving line")
        .to_string();
    (child, stdout, addr)
}

/// Sends one request and reads the answer to its end.
fn request(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(REQUEST).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

/// The next `n` lines the server prints.
fn lines(stdout: &mut BufReader<ChildStdout>, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("a line");
            line.trim_end_matches('\n').to_string()
        })
        .collect()
}

#[test]
fn trace_shows_accept_read_write_close_per_connection() {
    let (mut child, mut stdout, addr) = start(&["--trace"]);
    for id in 1..=2 {
        assert!(request(&addr).ends_with("Hello, World!\n"));
        // The request's three lines, echoed, come between read and wrote.
        let got = lines(&mut stdout, 7);
        let (accept, rest) = got.split_first().expect("lines");
        assert!(
            accept.starts_with(&format!("trace #{id} accept 127.0.0.1:")),
            "{got:?}"
        );
        assert_eq!(
            rest[0],
            format!("trace #{id} read {} bytes", REQUEST.len())
        );
        assert_eq!(rest[1..4], ["< GET / HTTP/1.1", "< Host: x", "< "]);
        assert_eq!(rest[4], format!("trace #{id} wrote 113 bytes"));
        assert_eq!(rest[5], format!("trace #{id} close"));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn without_the_flag_there_is_no_trace() {
    let (mut child, mut stdout, addr) = start(&[]);
    assert!(request(&addr).ends_with("Hello, World!\n"));
    // A second request: once its echo is printed, the first one's lines
    // (trace or not) are all out.
    assert!(request(&addr).ends_with("Hello, World!\n"));
    let got = lines(&mut stdout, 6);
    assert_eq!(
        got,
        [
            "< GET / HTTP/1.1",
            "< Host: x",
            "< ",
            "< GET / HTTP/1.1",
            "< Host: x",
            "< "
        ]
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
}
