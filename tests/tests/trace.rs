//! `--trace`, read from each part's real binary while a real client talks
//! to it: a `trace #N …` line for each thing a connection does, in the
//! order it happened among the access-log lines, and none without the
//! flag. Each part traces what it adds: part 1 its reads and writes,
//! part 3 its readiness events and states, part 4 each request's job.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use tests::{Binary, Part, check, client};

/// `part`'s binary with `flags`; part 4 with two workers, so a trace
/// names one of the two.
fn serve(part: Part, flags: &[&str]) -> Binary {
    let mut args = flags.to_vec();
    if matches!(part, Part::Part4 | Part::Part4Fast) {
        args.extend(["--workers", "2"]);
    }
    Binary::spawn_logged(part, &args)
}

const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

check!(
    trace_shows_accept_read_write_close_per_connection,
    [Part1],
    own_server,
    |part| {
        let server = serve(part, &["--trace"]);
        for id in 1..=2 {
            let answer = client::exchange(server.addr(), GET_ROOT);
            assert!(answer.ends_with(b"Hello, World!\n"), "{answer:?}");
            // The request's three lines, echoed, come between read and
            // wrote.
            let got: Vec<String> = (0..7).map(|_| server.next_line()).collect();
            let (accept, rest) = got.split_first().expect("lines");
            assert!(
                accept.starts_with(&format!("trace #{id} accept 127.0.0.1:")),
                "{got:?}"
            );
            assert_eq!(
                rest[0],
                format!("trace #{id} read {} bytes", GET_ROOT.len())
            );
            assert_eq!(rest[1..4], ["< GET / HTTP/1.1", "< Host: x", "< "]);
            assert_eq!(rest[4], format!("trace #{id} wrote 113 bytes"));
            assert_eq!(rest[5], format!("trace #{id} close"));
        }
    }
);

const ECHO_HEAD: &[u8] =
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";

check!(
    each_read_and_write_of_a_connection_is_traced,
    [Part2],
    own_server,
    |part| {
        let server = serve(part, &["--trace"]);
        assert_eq!(server.next_line(), "app: demo");
        let mut client = client::connect(server.addr());
        let port = client.local_addr().expect("local addr").port();
        // The head first, then the body in a write of its own once the
        // answer to the head has been waited for: two reads, in this
        // order.
        client.write_all(ECHO_HEAD).expect("send the head");
        let accepted = server.lines_until("trace #1 read");
        client.write_all(b"hello").expect("send the body");
        client.shutdown(Shutdown::Write).expect("shutdown");
        let response =
            client::read_to_close(&mut client).expect("read the response");
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
            format!("trace #1 read {} bytes", ECHO_HEAD.len()),
            "trace #1 read 5 bytes".into(),
            format!("trace #1 wrote {} bytes", response.len()),
            got[access].to_string(),
            // The client's FIN, where a next request would start.
            "trace #1 read 0 bytes".into(),
            "trace #1 close".into(),
        ];
        assert_eq!(got, expected);
    }
);

const GET_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends `GET_HELLO` and reads its whole response, as `Content-Length`
/// frames it: the connection stays open.
fn hello_kept_alive(stream: &mut TcpStream) -> Vec<u8> {
    stream.write_all(GET_HELLO).expect("send");
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

/// One kept-alive `GET /hello` with `--trace`, then the client's FIN:
/// the server's lines up to connection #1's close, the client's port and
/// the response.
fn hello_then_fin(part: Part) -> (Vec<String>, u16, Vec<u8>) {
    let server = serve(part, &["--trace"]);
    let mut client = client::connect(server.addr());
    let port = client.local_addr().expect("local addr").port();
    let response = hello_kept_alive(&mut client);
    client.shutdown(Shutdown::Write).expect("shutdown");
    (server.lines_until("trace #1 close:"), port, response)
}

/// Connection #1's trace lines, without `trace #1 `.
fn ours(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("trace #1 "))
        .collect()
}

check!(
    a_request_traced_from_accept_to_close,
    [Part3],
    own_server,
    |part| {
        let (lines, port, response) = hello_then_fin(part);
        let ours = ours(&lines);
        // Every line is `trace #1 EVENT details`, in this order (a readiness
        // event may come between them, depending on timing).
        let expected = [
            format!("accept 127.0.0.1:{port}"),
            format!("read {} bytes", GET_HELLO.len()),
            // Read until the socket says so, even after a short read.
            "read would block".into(),
            "Idle -> Head".into(),
            "Head -> Respond GET /hello".into(),
            format!("wrote {} bytes", response.len()),
            "Respond -> Idle".into(),
            "read 0 bytes: end of stream".into(),
            "close: client closed".into(),
        ];
        let mut rest = ours
            .iter()
            .filter(|l| !l.starts_with("readable"))
            .peekable();
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(rest.next(), Some(&want.as_str()), "in {lines:#?}");
            // Right after the accept the loop tries a read at once; if the
            // request is not there yet, that read says so first.
            if i == 0 && rest.peek() == Some(&&"read would block") {
                rest.next();
            }
        }
        assert_eq!(rest.next(), None, "in {lines:#?}");
        assert!(ours.contains(&"readable (read closed)"), "{lines:#?}");
        // The access-log line comes where it happened: after the write.
        let at = |text: &str| lines.iter().position(|l| l.contains(text));
        let access = at("\"GET /hello HTTP/1.1\" 200").expect("access line");
        assert!(at("wrote ") < Some(access), "{lines:#?}");
        assert!(Some(access) < at("Respond -> Idle"), "{lines:#?}");
    }
);

check!(
    only_the_tuned_dispatcher_takes_a_short_read_for_would_block,
    [Part3, Part4],
    own_server,
    |part| {
        let (lines, _, _) = hello_then_fin(part);
        let ours = ours(&lines);
        let read = format!("read {} bytes", GET_HELLO.len());
        let at = ours.iter().position(|l| *l == read).expect("the read");
        // Everyone else reads again, to hear `WouldBlock` itself.
        let short = part == Part::Part4Fast
            && part4_threads::fast::threaded::SHORT_READS;
        let want = if short {
            SHORT_READ
        } else {
            "read would block"
        };
        assert_eq!(ours.get(at + 1), Some(&want), "{part:?}: {lines:#?}");
    }
);

/// Connection #1's lines, without `#1` and without the readiness lines
/// (`readable`, `read would block`, and the tuned dispatcher's `short
/// read: taken for would block`): when those come depends on timing.
fn events(lines: &[String]) -> Vec<String> {
    ours(lines)
        .into_iter()
        .filter(|l| {
            !l.starts_with("readable")
                && *l != "read would block"
                && *l != SHORT_READ
        })
        .map(str::to_string)
        .collect()
}

/// What `--dispatch fast` traces when it takes a short read for
/// `WouldBlock`.
const SHORT_READ: &str = "short read: taken for would block";

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

/// Sends `request` on a new connection, reads the whole response (the
/// request asks to close), checks it is a 200, and returns its length.
fn exchange_ok(server: &Binary, request: &[u8]) -> usize {
    let response = client::exchange(server.addr(), request);
    assert!(response.starts_with(b"HTTP/1.1 200 OK"), "{response:?}");
    response.len()
}

const SLEEP: &[u8] =
    b"GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

check!(
    a_job_is_queued_taken_finished_then_the_loop_is_woken,
    [Part4],
    own_server,
    |part| {
        let server = serve(part, &["--trace"]);
        let written = exchange_ok(&server, SLEEP);
        let lines = server.lines_until("trace #1 close");
        let got = events(&lines);
        let expected = [
            "accept".to_string(),
            format!("read {} bytes", SLEEP.len()),
            "Idle -> Head".into(),
            "job queued".into(),
            "Head -> Respond GET /sleep?ms=200".into(),
            format!("job taken by worker {}", worker(&got)),
            // The app sleeps: the loop sleeps too, until the worker is
            // done.
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
        assert_eq!(got_words, expected, "{part:?}: {lines:#?}");
    }
);

check!(
    a_quick_job_is_traced_in_order_too,
    [Part4],
    own_server,
    |part| {
        // The worker may be done before the loop looks for the answer: then
        // the loop writes it without being woken first, and `loop woken`
        // comes later or not at all. The rest keeps its order.
        let hello =
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let server = serve(part, &["--trace"]);
        let written = exchange_ok(&server, hello);
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
            "{part:?}: {lines:#?}"
        );
    }
);

check!(
    no_trace_lines_without_the_flag,
    [Part1, Part2, Part3, Part4],
    own_server,
    |part| {
        let server = serve(part, &[]);
        for _ in 0..2 {
            exchange_ok(&server, SLEEP);
        }
        // Part 1 echoes each request's head, the later parts log a line
        // for it. The second request's line comes after all that the
        // first connection printed, trace or not: the server closed it
        // before the client opened the second.
        let request_line = "GET /sleep?ms=200 HTTP/1.1";
        let mut lines: Vec<String> = Vec::new();
        while lines.iter().filter(|l| l.contains(request_line)).count() < 2 {
            lines.push(server.next_line());
        }
        assert!(!lines.iter().any(|l| l.starts_with("trace")), "{lines:#?}");
        if part == Part::Part1 {
            assert_eq!(
                lines,
                [
                    "< GET /sleep?ms=200 HTTP/1.1",
                    "< Host: x",
                    "< Connection: close",
                    "< ",
                    "< GET /sleep?ms=200 HTTP/1.1",
                ]
            );
        } else {
            for line in lines.iter().filter(|l| l.contains(request_line)) {
                assert!(line.contains("/sleep?ms=200 HTTP/1.1\" 200 13"));
            }
        }
    }
);
