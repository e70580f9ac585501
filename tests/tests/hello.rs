//! Checks every part passes: the Hello, World! contract and surviving
//! clients that misbehave.

use std::io::Write;
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use tests::client;
use tests::{Binary, Options, Part, check};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// The response to `GET /`, read as its `Content-Length` frames it.
fn get_hello(addr: std::net::SocketAddr) -> client::Response {
    let response = client::request(addr, GET);
    assert!(response.header("Content-Length").is_some(), "{response:?}");
    response
}

fn short_timeout() -> Options {
    Options::short_timeouts()
}

check!(status_line_and_headers, [Part1, Part2, Part3, Part4], |s| {
    let r = get_hello(s.addr());
    assert_eq!((r.version.as_str(), r.status), ("HTTP/1.1", 200));
    assert_eq!(r.reason, "OK");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
});

check!(hello_body, [Part1, Part2, Part3, Part4], |s| {
    assert_eq!(get_hello(s.addr()).body, b"Hello, World!\n");
});

check!(
    two_hundred_sequential_connections,
    [Part1, Part2, Part3, Part4],
    |s| {
        for i in 0..200 {
            let r = get_hello(s.addr());
            assert_eq!(r.status, 200, "connection {i}");
        }
    }
);

check!(
    silent_client_is_dropped,
    [Part1, Part2, Part3, Part4],
    options(short_timeout()),
    |s| {
        // Connects and says nothing: the server must not wait forever.
        let _silent = client::connect(s.addr());
        let r = get_hello(s.addr());
        assert_eq!(r.status, 200);
    }
);

check!(
    reset_mid_request_is_survived,
    [Part1, Part2, Part3, Part4],
    |s| {
        for _ in 0..5 {
            let mut stream = client::connect(s.addr());
            stream.write_all(b"GET / HTTP/1.1\r\nHo").expect("send");
            client::reset(stream);
        }
        assert_eq!(get_hello(s.addr()).status, 200);
    }
);

check!(
    half_sent_request_then_close,
    [Part1, Part2, Part3, Part4],
    options(short_timeout()),
    |s| {
        let mut stream = client::connect(s.addr());
        stream.write_all(b"GET / HT").expect("send");
        stream.shutdown(Shutdown::Write).expect("half-close");
        // Whatever the part answers, it must close and then serve others.
        let _ = client::read_to_close(&mut stream);
        assert_eq!(get_hello(s.addr()).status, 200);
    }
);

check!(telnet_lines_with_crlf, [Part1, Part2, Part3, Part4], |s| {
    // telnet sends each line as it is typed, with CRLF.
    let mut stream = client::connect(s.addr());
    for line in ["GET / HTTP/1.1\r\n", "Host: localhost\r\n", "\r\n"] {
        // Ignore errors: part 1 answers after the first line and closes.
        let _ = stream.write_all(line.as_bytes());
        thread::sleep(Duration::from_millis(20));
    }
    let r = client::ResponseReader::new(stream)
        .next("GET")
        .expect("answer");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"Hello, World!\n"[..])
    );
});

check!(nc_bare_lf, [Part1, Part2, Part3, Part4], |s| {
    let r = client::request(s.addr(), b"GET / HTTP/1.1\nHost: x\n\n");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"Hello, World!\n"[..])
    );
});

#[test]
fn binaries_serve_hello() {
    let parts = [
        (Part::Part1, &[][..]),
        (Part::Part2, &["--app", "hello"]),
        (Part::Part3, &["--app", "hello"]),
        (Part::Part4, &["--app", "hello"]),
    ];
    for (part, args) in parts {
        let server = Binary::spawn(part.binary(), args);
        let line = &server.serving_line;
        assert!(
            line.starts_with("Serving HTTP on http://127.0.0.1:"),
            "{line}"
        );
        assert_eq!(get_hello(server.addr()).body, b"Hello, World!\n");
    }
}
