//! `--trace`, on the real binary: part 1's lines (accept, each read and
//! write with its bytes, close) for every connection, in the order they
//! happened among the access-log lines, and none without the flag.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_part2-gateway");

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
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run part2-gateway");
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
        assert_eq!(server.next_line(), "app: demo");
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

    fn connect(&self) -> TcpStream {
        let stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        stream.set_write_timeout(Some(PATIENCE)).expect("timeout");
        stream
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HEAD: &[u8] =
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";

#[test]
fn each_read_and_write_of_a_connection_is_traced() {
    let server = Server::start(&["--trace"]);
    let mut client = server.connect();
    let port = client.local_addr().expect("local addr").port();
    // The head first, then the body in a write of its own once the
    // answer to the head has been waited for: two reads, in this order.
    client.write_all(HEAD).expect("send the head");
    let accepted = server.lines_until("trace #1 read");
    client.write_all(b"hello").expect("send the body");
    client.shutdown(Shutdown::Write).expect("shutdown");
    let mut response = Vec::new();
    client
        .read_to_end(&mut response)
        .expect("read the response");
    assert!(response.ends_with(b"\r\n\r\nhello"), "{response:?}");
    let rest = server.lines_until("trace #1 close");
    let got: Vec<&str> =
        accepted.iter().chain(&rest).map(String::as_str).collect();
    let access = got
        .iter()
        .position(|l| l.contains("\"POST /echo HTTP/1.1\" 200 5"))
        .expect("an access-log line");
    let expected = [
        format!("trace #1 accept 127.0.0.1:{port}"),
        format!("trace #1 read {} bytes", HEAD.len()),
        "trace #1 read 5 bytes".into(),
        format!("trace #1 wrote {} bytes", response.len()),
        got[access].to_string(),
        // The client's FIN, where a next request would start.
        "trace #1 read 0 bytes".into(),
        "trace #1 close".into(),
    ];
    assert_eq!(got, expected);
}

#[test]
fn no_trace_lines_without_the_flag() {
    let server = Server::start(&[]);
    for _ in 0..2 {
        let mut client = server.connect();
        client
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        client.shutdown(Shutdown::Write).expect("shutdown");
        let mut response = Vec::new();
        client.read_to_end(&mut response).expect("read");
    }
    // The second access line comes after everything the first connection
    // printed, trace or not.
    let first = server.next_line();
    let second = server.next_line();
    for line in [first, second] {
        assert!(line.contains("\"GET /hello HTTP/1.1\" 200 14"), "{line}");
    }
}
