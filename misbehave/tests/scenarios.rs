//! Every scenario against an in-process part 3, with short limits so the
//! whole file runs in a few seconds; and the binary's exit codes.

// A failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::Duration;

use misbehave::conn::End;
use misbehave::scenarios::{self, Settings};
use misbehave::{Failure, Scenario};
use tests::{Options, Part, TestServer};

fn part3(options: &Options) -> (TestServer, Settings) {
    let server = tests::start(Part::Part3, options);
    let mut settings = Settings::new(server.addr());
    settings.timeout = Duration::from_secs(5);
    (server, settings)
}

/// The transcript goes to a buffer, so a failing test can show it.
fn transcript() -> Vec<u8> {
    Vec::new()
}

#[test]
fn fragments_are_reassembled() {
    let (_server, mut s) = part3(&Options::default());
    s.delay = Some(Duration::from_millis(1));
    let mut out = transcript();
    let ex = scenarios::fragments(&s, &mut out).unwrap();
    assert_eq!(ex.statuses(), [200]);
    assert_eq!(ex.responses[0].body, b"Hello, World!\n");
    assert_eq!(ex.end, End::Closed);
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("> GET /hello HTTP/1.1\\r\\n"), "{out}");
}

#[test]
fn pipeline_gets_three_answers_in_order() {
    let (_server, mut s) = part3(&Options::app("environ"));
    s.path = None;
    let ex = scenarios::pipeline(&s, &mut transcript()).unwrap();
    assert_eq!(ex.statuses(), [200, 200, 200]);
    // The environ app shows each request's path: the order is ours.
    let queries: Vec<bool> = ex
        .responses
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).contains("QUERY_STRING=n=2"))
        .collect();
    assert_eq!(queries, [false, true, false]);
    assert_eq!(ex.end, End::Closed);
}

#[test]
fn half_close_still_gets_its_answer() {
    let (_server, s) = part3(&Options::default());
    let ex = scenarios::half_close(&s, &mut transcript()).unwrap();
    assert_eq!(ex.statuses(), [200]);
    assert_eq!(ex.end, End::Closed);
}

#[test]
fn slowloris_is_cut_off_with_408() {
    let (_server, mut s) = part3(&Options::short_timeouts());
    s.delay = Some(Duration::from_millis(20));
    s.max = Some(Duration::from_secs(3));
    let mut out = transcript();
    let sl = scenarios::slowloris(&s, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(sl.response.map(|r| r.status), Some(408), "{out}");
    assert!(sl.lived < Duration::from_secs(2), "{:?}", sl.lived);
    assert!(sl.dribbled > 0);
}

#[test]
fn slowloris_gives_up_at_max_secs() {
    let (_server, mut s) = part3(&Options::default());
    s.delay = Some(Duration::from_millis(50));
    s.max = Some(Duration::from_millis(300));
    let sl = scenarios::slowloris(&s, &mut transcript()).unwrap();
    assert!(sl.response.is_none());
    assert_eq!(sl.end, End::StillOpen);
    assert!(sl.lived < Duration::from_secs(1), "{:?}", sl.lived);
}

#[test]
fn reset_leaves_the_server_serving() {
    let (_server, s) = part3(&Options::default());
    let reset = scenarios::reset(&s, &mut transcript()).unwrap();
    assert_eq!(reset.after, Ok(200));
}

#[test]
fn no_read_does_not_stop_the_others() {
    let (_server, mut s) = part3(&Options::default());
    s.max = Some(Duration::from_millis(500));
    s.count = 200;
    let nr = scenarios::no_read(&s, &mut transcript()).unwrap();
    assert!(nr.written > 0);
    assert!(!nr.probes.is_empty());
    for probe in &nr.probes {
        assert!(matches!(probe, Ok((200, _))), "{probe:?}");
    }
}

#[test]
fn parallel_on_part3_is_serialised() {
    let (_server, mut s) = part3(&Options::app("sleep"));
    s.n = 3;
    s.ms = 150;
    let mut out = transcript();
    let p = scenarios::parallel(&s, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(p.took.iter().all(Result::is_ok), "{out}");
    assert_eq!(p.peak, 1, "{out}");
    // One after the other: the last answer needs all three sleeps.
    assert!(p.wall >= Duration::from_millis(3 * 150), "{out}");
}

#[test]
fn run_dispatches_by_name() {
    let (_server, s) = part3(&Options::default());
    let scenario = Scenario::from_name("pipeline").unwrap();
    let outcome = scenarios::run(scenario, &s, &mut transcript()).unwrap();
    assert!(matches!(outcome, misbehave::Outcome::Exchange(e)
        if e.statuses() == [200, 200, 200]));
}

/// A server that answers anything with `answer`, once.
fn bad_server(answer: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        let _ = stream.write_all(answer);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Read until the client leaves: closing with unread bytes would
        // reset the connection and lose the answer.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    port
}

#[test]
fn a_malformed_answer_is_a_failure_with_carets() {
    let port = bad_server(b"HTTP/1.1 200 OK\r\nX-Broken header\r\n\r\n");
    let s = Settings::new(([127, 0, 0, 1], port).into());
    match scenarios::pipeline(&s, &mut transcript()) {
        Err(Failure::Malformed(bad)) => {
            let shown = bad.to_string();
            assert!(shown.contains("header line has no colon"), "{shown}");
            assert!(shown.contains("2 | X-Broken header\\r\\n"), "{shown}");
        }
        other => panic!("expected a malformed answer, got {other:?}"),
    }
}

fn misbehave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_misbehave"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn binary_exit_codes() {
    // 2: not loopback, with one line on stderr.
    for host in ["192.0.2.1", "10.0.0.1", "0.0.0.0"] {
        let out = misbehave(&["pipeline", "--host", host, "--port", "80"]);
        assert_eq!(out.status.code(), Some(2), "{host}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("not loopback"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    // 2: usage errors.
    assert_eq!(misbehave(&[]).status.code(), Some(2));
    assert_eq!(misbehave(&["dance"]).status.code(), Some(2));
    assert_eq!(misbehave(&["--help"]).status.code(), Some(0));

    // 0: the scenario ran.
    let server = tests::start(Part::Part3, &Options::default());
    let port = server.addr().port().to_string();
    let out = misbehave(&["fragments", "--port", &port, "--delay-ms", "0"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("< HTTP/1.1 200 OK\\r\\n"), "{stdout}");

    // 1: a malformed answer, shown with carets on stderr.
    let port = bad_server(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort");
    let out = misbehave(&["fragments", "--port", &port.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("5 of the 9 body bytes"), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
}
