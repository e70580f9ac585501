//! Checks of honest HTTP/1.1, for every part from 2 on: keep-alive,
//! pipelining, body framing, 100-continue, limits and malformed requests.
//! Each is sent as raw bytes over a real socket. Part 1 reads once and
//! answers anything with the same bytes, so these do not apply to it,
//! except where its chapter shows the mistake (`HEAD`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use tests::client::{self, ResponseReader, connect, request};
use tests::{Options, check};

fn echo() -> Options {
    Options::app("echo")
}

const HELLO_REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// A fresh connection still gets served: the server survived.
fn still_serving(addr: SocketAddr) {
    let r = request(addr, HELLO_REQ);
    assert!(r.status < 500, "{r:?}");
}

check!(date_and_server_headers, [Part2, Part3, Part4], |s| {
    let r = request(s.addr(), HELLO_REQ);
    let date = r.header("Date").expect("Date");
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    assert_eq!(date.len(), 29, "{date}");
    assert!(date.ends_with(" GMT"), "{date}");
    assert!(r.header("Server").is_some());
});

check!(keep_alive_by_default_on_1_1, [Part2, Part3, Part4], |s| {
    let mut reader = ResponseReader::new(connect(s.addr()));
    for _ in 0..3 {
        reader.stream().write_all(HELLO_REQ).unwrap();
        let r = reader.next("GET").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Connection"), None);
    }
});

check!(connection_close_is_honoured, [Part2, Part3, Part4], |s| {
    let mut reader = ResponseReader::new(connect(s.addr()));
    reader
        .stream()
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = reader.next("GET").unwrap();
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(reader.closed(), "server kept the connection");
});

check!(http_1_0_closes_unless_asked, [Part2, Part3, Part4], |s| {
    let mut reader = ResponseReader::new(connect(s.addr()));
    reader
        .stream()
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .unwrap();
    assert_eq!(reader.next("GET").unwrap().status, 200);
    assert!(reader.closed());

    let mut reader = ResponseReader::new(connect(s.addr()));
    let ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    reader.stream().write_all(ka).unwrap();
    let r = reader.next("GET").unwrap();
    assert_eq!(r.header("Connection"), Some("keep-alive"));
    reader.stream().write_all(ka).unwrap();
    assert_eq!(reader.next("GET").unwrap().status, 200);
});

check!(
    newer_minor_version_is_read_as_1_1,
    [Part2, Part3, Part4],
    |s| {
        // RFC 9110 §2.5: HTTP/1.2 is answered as the highest 1.x we know,
        // and keeps the connection alive as 1.1 would.
        let mut reader = ResponseReader::new(connect(s.addr()));
        for _ in 0..2 {
            let req = b"GET / HTTP/1.2\r\nHost: x\r\n\r\n";
            reader.stream().write_all(req).unwrap();
            let r = reader.next("GET").unwrap();
            assert_eq!((r.version.as_str(), r.status), ("HTTP/1.1", 200));
            assert_eq!(r.header("Connection"), None);
        }
    }
);

check!(
    pipelined_requests_answered_in_order,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut reader = ResponseReader::new(connect(s.addr()));
        let mut all = Vec::new();
        for word in ["one", "two", "three"] {
            all.extend_from_slice(
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{word}",
                word.len()
            )
            .as_bytes(),
        );
        }
        reader.stream().write_all(&all).unwrap();
        for word in ["one", "two", "three"] {
            assert_eq!(reader.next("POST").unwrap().body, word.as_bytes());
        }
    }
);

check!(
    body_arriving_late_in_pieces,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut stream = connect(s.addr());
        let head =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";
        stream.write_all(head).unwrap();
        for piece in [&b"Hell"[..], b"o, ", b"World"] {
            thread::sleep(Duration::from_millis(30));
            stream.write_all(piece).unwrap();
        }
        let r = ResponseReader::new(stream).next("POST").unwrap();
        assert_eq!(r.body, b"Hello, World");
    }
);

check!(
    head_split_byte_by_byte,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut stream = connect(s.addr());
        stream.set_nodelay(true).unwrap();
        let req = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok";
        for byte in req {
            stream.write_all(&[*byte]).unwrap();
        }
        let r = ResponseReader::new(stream).next("POST").unwrap();
        assert_eq!(r.body, b"ok");
    }
);

check!(
    chunked_request_body,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let req =
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Trailer: yes\r\n\r\n";
        let r = request(s.addr(), req);
        assert_eq!(r.body, b"Hello, World!");
    }
);

check!(
    expect_100_continue,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut stream = connect(s.addr());
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\n\r\n",
            )
            .unwrap();
        let mut reader = ResponseReader::new(stream);
        // The server must ask for the body before the client sends it.
        let interim = reader.next("POST").unwrap();
        assert_eq!(interim.status, 100);
        reader.stream().write_all(b"hello").unwrap();
        let r = reader.next("POST").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    }
);

check!(
    expect_100_refused_gets_final_status,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        // Over the body limit: 413 at once, never a 100.
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader
            .stream()
            .write_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\
              Expect: 100-continue\r\n\r\n",
            )
            .unwrap();
        let r = reader.next("POST").unwrap();
        assert_eq!(r.status, 413);
        assert_eq!(r.header("Connection"), Some("close"));
        still_serving(s.addr());
    }
);

check!(
    head_gets_headers_without_body,
    [Part2, Part3, Part4],
    lesson([Part1], "sends the body after the head of a HEAD response"),
    |s| {
        // Closed after the answer: every byte the server sent has arrived
        // when the connection ends. Part 1 sends its body anyway.
        let raw = client::exchange(
            s.addr(),
            b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let r = client::parse_response(&raw).unwrap();
        assert_eq!(r.header("Content-Length"), Some("14"));
        assert!(
            r.body.is_empty(),
            "sends the body after the head of a HEAD response: {:?}",
            String::from_utf8_lossy(&r.body)
        );
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader
            .stream()
            .write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = reader.next("HEAD").unwrap();
        assert_eq!(r.header("Content-Length"), Some("14"));
        // The next response must start right away: no stray body bytes.
        reader.stream().write_all(HELLO_REQ).unwrap();
        assert_eq!(reader.next("GET").unwrap().body, b"Hello, World!\n");
    }
);

check!(no_stray_bytes_after_response, [Part2, Part3, Part4], |s| {
    let mut stream = connect(s.addr());
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reader = ResponseReader::new(stream);
    let r = reader.next("GET").unwrap();
    assert_eq!(r.body, b"Hello, World!\n");
    assert!(reader.closed());
    assert!(reader.leftover().is_empty());
});

check!(
    half_close_still_answered,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut stream = connect(s.addr());
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            )
            .unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut reader = ResponseReader::new(stream);
        assert_eq!(reader.next("POST").unwrap().body, b"abc");
        assert!(reader.closed());
    }
);

check!(
    request_and_fin_in_one_segment_answered_then_closed,
    [Part2, Part3, Part4],
    // Idle longer than the client waits: the close must come from the FIN.
    options(Options {
        idle_timeout: Duration::from_secs(60),
        ..echo()
    }),
    |s| {
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader.stream().write_all(HELLO_REQ).unwrap();
        assert_eq!(reader.next("GET").unwrap().status, 200);
        // Corked, the request waits and leaves in the FIN's segment, so
        // the server hears both in one readiness event: a server that
        // stopped at the request's short read would never see the end
        // of the stream, and would keep the connection open.
        #[cfg(target_os = "linux")]
        socket2::SockRef::from(&*reader.stream())
            .set_tcp_cork(true)
            .unwrap();
        reader
            .stream()
            .write_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            )
            .unwrap();
        reader.stream().shutdown(Shutdown::Write).unwrap();
        assert_eq!(reader.next("POST").unwrap().body, b"abc");
        assert!(reader.closed());
    }
);

check!(
    stalled_request_gets_408,
    [Part2, Part3, Part4],
    options(Options::short_timeouts()),
    |s| {
        let mut stream = connect(s.addr());
        stream.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
        let mut reader = ResponseReader::new(stream);
        let r = reader.next("GET").unwrap();
        assert_eq!(r.status, 408);
        assert!(reader.closed());
        still_serving(s.addr());
    }
);

/// Malformed or refused requests and the status each must get.
const REFUSED: &[(&str, &[u8], u16)] = &[
    ("garbage", b"HELLO\r\n\r\n", 400),
    ("no version", b"GET /\r\n\r\n", 400),
    ("unknown method", b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (
        "lowercase method",
        b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
        501,
    ),
    ("version 2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("version 0.9", b"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    ("no Host on 1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
    (
        "space before colon",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        400,
    ),
    (
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
        400,
    ),
    (
        "NUL in header",
        b"GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n",
        400,
    ),
    ("bare CR", b"GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400),
    (
        "CL and TE",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "CL disagree",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\
          Content-Length: 4\r\n\r\nabcd",
        400,
    ),
    (
        "CL signed",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
        400,
    ),
    (
        // A coding we do not know (RFC 9112 §6.1).
        "TE gzip, chunked",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    ),
    (
        // chunked is not the last coding: no way to find the end (§6.3).
        "TE gzip alone",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        400,
    ),
    (
        "bad chunk size",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          zz\r\nabc\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size overflow",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          ffffffffffffffffff\r\n",
        400,
    ),
    (
        "body too large",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
        413,
    ),
];

check!(
    malformed_requests_get_their_status,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        for (what, bytes, status) in REFUSED {
            let mut reader = ResponseReader::new(connect(s.addr()));
            reader.stream().write_all(bytes).unwrap();
            let r = reader
                .next("POST")
                .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
            assert_eq!(r.status, *status, "{what}");
            assert_eq!(r.header("Connection"), Some("close"), "{what}");
            assert!(reader.closed(), "{what}: connection left open");
            still_serving(s.addr());
        }
    }
);

check!(long_request_line_gets_414, [Part2, Part3, Part4], |s| {
    let target = "/".to_string() + &"a".repeat(10 * 1024);
    let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(request(s.addr(), req.as_bytes()).status, 414);
    still_serving(s.addr());
});

check!(huge_head_gets_431, [Part2, Part3, Part4], |s| {
    let mut req = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..40 {
        req.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(1000)));
    }
    req.push_str("\r\n");
    assert_eq!(request(s.addr(), req.as_bytes()).status, 431);

    let mut req = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        req.push_str(&format!("X-{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(request(s.addr(), req.as_bytes()).status, 431);
    still_serving(s.addr());
});

check!(
    reset_mid_body_leaves_server_serving,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        let mut stream = connect(s.addr());
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab",
            )
            .unwrap();
        client::reset(stream);
        still_serving(s.addr());
    }
);

check!(
    environ_app_lists_cgi_variables,
    [Part2, Part3, Part4],
    options(Options::app("environ")),
    |s| {
        let r = request(
        s.addr(),
        b"GET /some/path?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Custom: yes\r\n\r\n",
    );
        let text = String::from_utf8(r.body).unwrap();
        for line in [
            "REQUEST_METHOD=GET",
            "PATH_INFO=/some/path",
            "QUERY_STRING=x=1",
            "SERVER_NAME=example.test",
            "SERVER_PROTOCOL=HTTP/1.1",
            "HTTP_X_CUSTOM=yes",
            "REMOTE_ADDR=127.0.0.1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in\n{text}"
            );
        }
    }
);

#[test]
fn read_to_close_helper_reads_everything() {
    // The harness itself: a server that writes then closes is read whole.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut b = [0u8; 64];
        let _ = s.read(&mut b).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\nxyz").unwrap();
    });
    let raw = client::exchange(addr, b"hi");
    t.join().unwrap();
    assert_eq!(raw, b"HTTP/1.1 200 OK\r\n\r\nxyz");
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

check!(
    garbage_never_breaks_the_server,
    [Part2, Part3, Part4],
    options(echo()),
    |s| {
        // Random bytes, and valid requests with random bytes spliced in: each
        // gets an answer or a close, and the server keeps serving.
        let mut rng = XorShift(0x5eed_1234_abcd_9876);
        let valid =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        for round in 0..100 {
            let mut bytes = if round % 2 == 0 {
                (0..(rng.next() % 300))
                    .map(|_| rng.next() as u8)
                    .collect::<Vec<u8>>()
            } else {
                valid.to_vec()
            };
            for _ in 0..(rng.next() % 4 + 1) {
                let at = (rng.next() as usize) % (bytes.len() + 1);
                bytes.insert(at, rng.next() as u8);
            }
            let mut stream = connect(s.addr());
            // The server may close before reading everything: not an error.
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(Shutdown::Write);
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink);
            if !sink.is_empty() {
                let head = String::from_utf8_lossy(&sink[..sink.len().min(12)]);
                assert!(
                    head.starts_with("HTTP/1.1 "),
                    "round {round}: {head:?}"
                );
            }
        }
        still_serving(s.addr());
    }
);

check!(
    expect_100_not_sent_when_the_app_refuses,
    [Part2],
    options(Options::app("demo")),
    |s| {
        // Part 2 sends `100 Continue` only when the app reads the body. A
        // path nobody serves is answered 404 at once, and since the client
        // may never send its body, the connection closes after it.
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader
            .stream()
            .write_all(
                b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\n\r\n",
            )
            .unwrap();
        let r = reader.next("POST").unwrap();
        assert_eq!(r.status, 404, "a final status, not 100 first");
        assert!(reader.closed(), "the unsent body leaves the stream unknown");
        still_serving(s.addr());
    }
);
