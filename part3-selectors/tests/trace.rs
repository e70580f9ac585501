//! `--trace`, read from the real binary's stdout while a real client
//! talks to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_part3-selectors");

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
            .expect("run part3-selectors");
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
        let port = serving
            .strip_prefix("Serving HTTP on http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no serving line: {serving:?}"));
        server.port = port;
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

const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends `REQUEST` and reads its whole response (by `Content-Length`).
fn exchange(stream: &mut TcpStream) -> Vec<u8> {
    stream.write_all(REQUEST).expect("send");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("read the response");
        assert!(n > 0, "closed early: {response:?}");
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.parse().ok())
                .expect("a Content-Length");
            if body.len() >= length {
                return response;
            }
        }
    }
}

#[test]
fn a_request_traced_from_accept_to_close() {
    let server = Server::start(&["--trace"]);
    let mut client = server.connect();
    let port = client.local_addr().expect("local addr").port();
    let response = exchange(&mut client);
    client.shutdown(Shutdown::Write).expect("shutdown");
    let lines = server.lines_until("trace #1 close:");
    let ours: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("trace #1 "))
        .collect();
    // Every line is `trace #1 EVENT details`, in this order (a readiness
    // event may come between them, depending on timing).
    let expected = [
        format!("accept 127.0.0.1:{port}"),
        format!("read {} bytes", REQUEST.len()),
        // Read until the socket says so, even after a short read.
        "read would block".into(),
        "Idle -> Head".into(),
        "Head -> Respond GET /hello".into(),
        format!("wrote {} bytes", response.len()),
        "Respond -> Idle".into(),
        "read 0 bytes: end of stream".into(),
        "close: client closed".into(),
    ];
    let mut rest = ours.iter().filter(|l| !l.starts_with("readable"));
    for want in &expected {
        assert_eq!(rest.next(), Some(&want.as_str()), "in {lines:#?}");
    }
    assert_eq!(rest.next(), None, "in {lines:#?}");
    assert!(ours.contains(&"readable (read closed)"), "{lines:#?}");
    // The access-log line comes where it happened: after the write.
    let at = |text: &str| lines.iter().position(|l| l.contains(text));
    let access = at("\"GET /hello HTTP/1.1\" 200").expect("access line");
    assert!(at("wrote ") < Some(access), "{lines:#?}");
    assert!(Some(access) < at("Respond -> Idle"), "{lines:#?}");
}

#[test]
fn no_trace_lines_without_the_flag() {
    let server = Server::start(&[]);
    let mut client = server.connect();
    exchange(&mut client);
    let lines = server.lines_until("127.0.0.1 - - ");
    assert!(!lines.iter().any(|l| l.starts_with("trace")), "{lines:#?}");
}
