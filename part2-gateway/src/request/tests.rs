use super::*;

fn parse(bytes: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    parse_head(bytes, &Limits::default())
}

fn ok(bytes: &[u8]) -> RequestHead {
    let (head, n) = parse(bytes).unwrap().unwrap();
    assert_eq!(n, bytes.len());
    head
}

fn status(bytes: &[u8]) -> u16 {
    parse(bytes).unwrap_err().status
}

/// Feeds `bytes` one byte at a time through a `RequestParser` and
/// through `parse_head`; both must agree with the all-at-once answer.
fn bytewise(
    bytes: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let mut parser = RequestParser::new();
    for end in 1..=bytes.len() {
        let a = parser.parse(&bytes[..end], limits);
        let b = parse_head(&bytes[..end], limits);
        assert_eq!(a, b, "at {end} bytes");
        if !matches!(a, Ok(None)) {
            return a;
        }
    }
    Ok(None)
}

#[test]
fn simple_get() {
    let head = ok(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n");
    assert_eq!(head.method, "GET");
    assert_eq!(head.target, "/a?b=c");
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.header("accept"), Some("*/*"));
    assert_eq!(head.framing, Framing::None);
    assert!(head.keep_alive);
    assert!(!head.expect_continue);
}

#[test]
fn incomplete_until_the_empty_line() {
    let full = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for end in 0..full.len() {
        assert_eq!(parse(&full[..end]), Ok(None), "at {end}");
    }
    assert!(parse(full).unwrap().is_some());
}

#[test]
fn split_anywhere_same_result() {
    let cases: [&[u8]; 6] = [
        b"\r\n\nPOST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        b"GET / HTTP/1.0\n\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad\rHeader: 1\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n\r\n",
    ];
    for case in cases {
        assert_eq!(bytewise(case, &Limits::default()), parse(case));
    }
}

#[test]
fn bare_lf_and_leading_empty_lines() {
    let head = ok(b"\r\n\n\r\nGET / HTTP/1.1\nHost: x\n\n");
    assert_eq!(head.target, "/");
    assert_eq!(parse(b"\r\n\r\n"), Ok(None));
    assert_eq!(parse(b"\r"), Ok(None));
}

#[test]
fn pipelined_requests() {
    let buf =
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    let (first, n) = parse(buf).unwrap().unwrap();
    assert_eq!(first.target, "/1");
    assert_eq!(n, buf.len() / 2);
    let (second, m) = parse(&buf[n..]).unwrap().unwrap();
    assert_eq!(second.target, "/2");
    assert_eq!(n + m, buf.len());
}

#[test]
fn malformed_is_400() {
    let bad: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nA: b\0c\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n",
        b"GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET foo HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
        b"GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n",
        b"GET / FTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n",
        b"GET /\r\n\r\n",
        b"\x01GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for req in bad {
        assert_eq!(status(req), 400, "{}", String::from_utf8_lossy(req));
    }
}

#[test]
fn accepted_targets() {
    for t in ["/", "/a/b?c=d&e", "http://example.com/x"] {
        let req = format!("GET {t} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(ok(req.as_bytes()).target, t);
    }
    let head = ok(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(head.target, "*");
    // HTTP/1.0 needs no Host.
    assert_eq!(ok(b"GET / HTTP/1.0\r\n\r\n").version, Version::Http10);
}

#[test]
fn methods() {
    for m in KNOWN_METHODS {
        let req = format!("{m} / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(ok(req.as_bytes()).method, *m);
    }
    for m in ["get", "PURGE", "CONNECT", "BREW"] {
        let req = format!("{m} / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status(req.as_bytes()), 501, "{m}");
    }
    // Not a token at all.
    assert_eq!(status(b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

#[test]
fn versions() {
    for v in ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/2.2"] {
        let req = format!("GET / {v}\r\nHost: x\r\n\r\n");
        assert_eq!(status(req.as_bytes()), 505, "{v}");
    }
    // A newer minor version is read as the highest we know (RFC 9110
    // §2.5), byte by byte too, with the rest of the head intact.
    for v in ["HTTP/1.2", "HTTP/1.9"] {
        let req = format!("GET /a {v}\r\nHost: x\r\nA: b\r\n\r\n");
        let (head, n) = bytewise(req.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, req.len());
        assert_eq!(head.version, Version::Http11, "{v}");
        assert_eq!(head.target, "/a");
        assert_eq!(head.header("a"), Some("b"));
        assert!(head.keep_alive);
    }
    assert_eq!(ok(b"GET / HTTP/1.3\nHost: x\n\n").version, Version::Http11);
    // Still checked like any 1.1 request: no Host is a 400.
    assert_eq!(status(b"GET / HTTP/1.2\r\n\r\n"), 400);
    for v in ["HTTP/1.10", "HTTP/11", "http/1.1", "HTTP/1.x"] {
        let req = format!("GET / {v}\r\nHost: x\r\n\r\n");
        assert_eq!(status(req.as_bytes()), 400, "{v}");
    }
}

fn small() -> Limits {
    Limits {
        max_request_line: 32,
        max_head: 128,
        max_headers: 4,
        max_body: 1024,
        ..Limits::default()
    }
}

#[test]
fn request_line_limit_414() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(40));
    assert_eq!(
        parse_head(long.as_bytes(), &small()).unwrap_err().status,
        414
    );
    // Detected before the line ends.
    let partial = format!("GET /{}", "a".repeat(40));
    assert_eq!(
        parse_head(partial.as_bytes(), &small()).unwrap_err().status,
        414
    );
    assert_eq!(bytewise(long.as_bytes(), &small()).unwrap_err().status, 414);
    // Exactly at the limit is fine, even with its CR pending.
    let line = format!("GET /{} HTTP/1.1", "a".repeat(18));
    assert_eq!(line.len(), 32);
    let at = format!("{line}\r\nHost: x\r\n\r\n");
    assert!(bytewise(at.as_bytes(), &small()).unwrap().is_some());
}

#[test]
fn head_limit_431_complete_and_incomplete() {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n",
        "b".repeat(120)
    );
    assert_eq!(
        parse_head(big.as_bytes(), &small()).unwrap_err().status,
        431
    );
    let partial = format!("GET / HTTP/1.1\r\nA: {}", "b".repeat(120));
    assert_eq!(
        parse_head(partial.as_bytes(), &small()).unwrap_err().status,
        431
    );
    assert_eq!(bytewise(big.as_bytes(), &small()).unwrap_err().status, 431);
    // Endless empty lines count too.
    let blank = "\r\n".repeat(100);
    assert_eq!(
        parse_head(blank.as_bytes(), &small()).unwrap_err().status,
        431
    );
}

#[test]
fn too_many_headers_431() {
    let mut req = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..3 {
        req.push_str(&format!("H{i}: v\r\n"));
    }
    let four = format!("{req}\r\n");
    assert!(parse_head(four.as_bytes(), &small()).unwrap().is_some());
    let five = format!("{req}H9: v\r\n\r\n");
    assert_eq!(
        parse_head(five.as_bytes(), &small()).unwrap_err().status,
        431
    );
    // The heap path for large limits.
    let limits = Limits {
        max_headers: 200,
        ..Limits::default()
    };
    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..199 {
        many.push_str(&format!("H{i}: v\r\n"));
    }
    let fits = format!("{many}\r\n");
    assert_eq!(
        parse_head(fits.as_bytes(), &limits)
            .unwrap()
            .unwrap()
            .0
            .headers
            .len(),
        200
    );
    let over = format!("{many}X: y\r\n\r\n");
    assert_eq!(
        parse_head(over.as_bytes(), &limits).unwrap_err().status,
        431
    );
}

fn post(headers: &str) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let req = format!("POST / HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    parse(req.as_bytes())
}

fn framing(headers: &str) -> Framing {
    post(headers).unwrap().unwrap().0.framing
}

fn framing_err(headers: &str) -> u16 {
    post(headers).unwrap_err().status
}

#[test]
fn content_length() {
    assert_eq!(framing("Content-Length: 5\r\n"), Framing::Length(5));
    assert_eq!(framing("Content-Length: 0\r\n"), Framing::Length(0));
    assert_eq!(framing("Content-Length:  7 \r\n"), Framing::Length(7));
    assert_eq!(
        framing("Content-Length: 7\r\ncontent-length: 7\r\n"),
        Framing::Length(7)
    );
    assert_eq!(framing("Content-Length: 7, 7\r\n"), Framing::Length(7));
    assert_eq!(
        framing("Content-Length: 18446744073709551615\r\n"),
        Framing::Length(u64::MAX)
    );
    for bad in [
        "Content-Length: +5\r\n",
        "Content-Length: -5\r\n",
        "Content-Length: 5 5\r\n",
        "Content-Length: 0x5\r\n",
        "Content-Length: \r\n",
        "Content-Length: 5,\r\n",
        "Content-Length: 5, 6\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 18446744073709551616\r\n",
    ] {
        assert_eq!(framing_err(bad), 400, "{bad}");
    }
}

#[test]
fn transfer_encoding() {
    assert_eq!(framing("Transfer-Encoding: chunked\r\n"), Framing::Chunked);
    assert_eq!(framing("Transfer-Encoding: CHUNKED\r\n"), Framing::Chunked);
    // Smuggling.
    assert_eq!(
        framing_err("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"),
        400
    );
    assert_eq!(framing_err("Transfer-Encoding: chunked, gzip\r\n"), 400);
    assert_eq!(framing_err("Transfer-Encoding: gzip\r\n"), 400);
    assert_eq!(framing_err("Transfer-Encoding: \r\n"), 400);
    assert_eq!(framing_err("Transfer-Encoding: chunked, chunked\r\n"), 400);
    assert_eq!(
        framing_err(
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
        ),
        400
    );
    assert_eq!(framing_err("Transfer-Encoding: gzip, chunked\r\n"), 501);
    assert_eq!(
        framing_err(
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
        ),
        501
    );
    let old = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(status(old), 400);
}

#[test]
fn keep_alive_matrix() {
    let cases = [
        ("1.1", "", true),
        ("1.1", "Connection: close\r\n", false),
        ("1.1", "Connection: Keep-Alive, CLOSE\r\n", false),
        ("1.1", "Connection: keep-alive\r\n", true),
        ("1.1", "Connection: upgrade\r\n", true),
        ("1.0", "", false),
        ("1.0", "Connection: close\r\n", false),
        ("1.0", "Connection: Keep-Alive\r\n", true),
        ("1.0", "Connection: foo, keep-alive\r\n", true),
        (
            "1.0",
            "Connection: keep-alive\r\nConnection: close\r\n",
            false,
        ),
    ];
    for (v, conn, want) in cases {
        let req = format!("GET / HTTP/{v}\r\nHost: x\r\n{conn}\r\n");
        assert_eq!(ok(req.as_bytes()).keep_alive, want, "{v} {conn:?}");
    }
}

#[test]
fn expect_continue() {
    let req = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n";
    assert!(ok(req).expect_continue);
    // HTTP/1.0 knows no Expect (RFC 9110 §10.1.1).
    let old =
        b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
    assert!(!ok(old).expect_continue);
    let other = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n";
    assert_eq!(status(other), 417);
}

#[test]
fn obs_text_values_are_lossy() {
    let head = ok(b"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9\r\n\r\n");
    assert_eq!(head.header("x"), Some("caf\u{fffd}"));
}
