use super::*;

fn facts(version: Version, head_method: bool, keep: bool) -> RequestFacts {
    RequestFacts {
        version,
        head_method,
        keep_alive: keep,
    }
}

const V11: RequestFacts = RequestFacts {
    version: Version::Http11,
    head_method: false,
    keep_alive: true,
};

fn head(
    request: &RequestFacts,
    status: u16,
    headers: &[(&str, &str)],
    body_len: Option<u64>,
) -> (String, Plan) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let mut out = Vec::new();
    let plan =
        write_head(&mut out, request, status, "Reason", &headers, body_len);
    (String::from_utf8(out).unwrap(), plan)
}

#[test]
fn shape_of_a_head() {
    let (text, plan) = head(&V11, 200, &[("X-A", "1")], Some(5));
    assert!(text.starts_with("HTTP/1.1 200 Reason\r\nX-A: 1\r\nDate: "));
    assert!(text.contains(&format!("\r\nServer: {SERVER_SOFTWARE}\r\n")));
    assert!(text.ends_with("\r\nContent-Length: 5\r\n\r\n"));
    assert_eq!(
        plan,
        Plan {
            framing: OutFraming::Length(5),
            keep_alive: true
        }
    );
    assert!(!text.contains("Connection"));
}

#[test]
fn injected_headers_are_dropped() {
    let (text, _) = head(
        &V11,
        200,
        &[
            ("X-Ok", "fine"),
            ("X-Bad", "a\r\nSet-Cookie: evil"),
            ("X-Nul", "a\0b"),
            ("Bad Name", "v"),
            ("", "v"),
            ("Content-Length", "99"),
            ("Transfer-Encoding", "gzip"),
        ],
        Some(1),
    );
    assert!(text.contains("X-Ok: fine\r\n"));
    for gone in ["evil", "X-Nul", "Bad Name", "99", "gzip", "\r\n: v"] {
        assert!(!text.contains(gone), "{gone}");
    }
    let mut out = Vec::new();
    write_head(&mut out, &V11, 404, "No\r\nX: y", &[], Some(0));
    assert!(out.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
}

#[test]
fn framing_decisions() {
    use OutFraming::*;
    let v10 = facts(Version::Http10, false, true);
    let head11 = facts(Version::Http11, true, true);
    let cases = [
        (V11, 200, Some(3), Length(3), "Content-Length: 3"),
        (V11, 200, None, Chunked, "Transfer-Encoding: chunked"),
        (v10, 200, None, Close, "Connection: close"),
        (v10, 200, Some(3), Length(3), "Connection: keep-alive"),
        (head11, 200, Some(3), NoBody, "Content-Length: 3"),
        (V11, 204, Some(3), NoBody, "\r\n\r\n"),
        (V11, 304, None, NoBody, "\r\n\r\n"),
        (V11, 101, None, NoBody, "\r\n\r\n"),
    ];
    for (request, status, len, framing, line) in cases {
        let (text, plan) = head(&request, status, &[], len);
        assert_eq!(plan.framing, framing, "{text}");
        assert!(text.contains(line), "{text}");
        if framing == NoBody && !request.head_method {
            assert!(!text.contains("Content-Length"), "{text}");
            assert!(!text.contains("Transfer-Encoding"), "{text}");
        }
    }
    let (text, _) = head(&head11, 200, &[], None);
    assert!(!text.contains("Content-Length"));
    assert!(!text.contains("Transfer-Encoding"));
}

#[test]
fn keep_alive_decisions() {
    let cases = [
        (facts(Version::Http11, false, true), Some(1), true),
        (facts(Version::Http11, false, false), Some(1), false),
        (facts(Version::Http11, false, true), None, true),
        (facts(Version::Http10, false, true), Some(1), true),
        (facts(Version::Http10, false, true), None, false),
        (facts(Version::Http10, false, false), Some(1), false),
    ];
    for (request, len, keep) in cases {
        let (text, plan) = head(&request, 200, &[], len);
        assert_eq!(plan.keep_alive, keep, "{text}");
        assert_eq!(text.contains("Connection: close\r\n"), !keep, "{text}");
    }
}

#[test]
fn length_encoder() {
    let plan = Plan {
        framing: OutFraming::Length(5),
        keep_alive: true,
    };
    let mut out = Vec::new();
    let mut enc = BodyEncoder::new(&plan);
    enc.write(b"abc", &mut out).unwrap();
    assert_eq!(
        enc.write(b"defg", &mut out),
        Err(LengthMismatch {
            declared: 5,
            produced: 7
        })
    );
    assert_eq!(out, b"abcde");
    let mut short = BodyEncoder::new(&plan);
    short.write(b"abc", &mut out).unwrap();
    assert_eq!(
        short.finish(&mut out),
        Err(LengthMismatch {
            declared: 5,
            produced: 3
        })
    );
    let mut exact = BodyEncoder::new(&plan);
    exact.write(b"abcde", &mut out).unwrap();
    assert_eq!(exact.finish(&mut out), Ok(()));
}

#[test]
fn chunked_encoder() {
    let plan = Plan {
        framing: OutFraming::Chunked,
        keep_alive: true,
    };
    let mut out = Vec::new();
    let mut enc = BodyEncoder::new(&plan);
    enc.write(b"hello", &mut out).unwrap();
    enc.write(b"", &mut out).unwrap();
    enc.write(&[b'x'; 16], &mut out).unwrap();
    enc.finish(&mut out).unwrap();
    enc.finish(&mut out).unwrap();
    let want =
        [&b"5\r\nhello\r\n10\r\n"[..], &[b'x'; 16], b"\r\n0\r\n\r\n"].concat();
    assert_eq!(out, want);
}

#[test]
fn close_and_nobody_encoders() {
    let mut out = Vec::new();
    let mut close = BodyEncoder::new(&Plan {
        framing: OutFraming::Close,
        keep_alive: false,
    });
    close.write(b"raw", &mut out).unwrap();
    close.finish(&mut out).unwrap();
    assert_eq!(out, b"raw");
    let mut none = BodyEncoder::new(&Plan {
        framing: OutFraming::NoBody,
        keep_alive: true,
    });
    none.write(b"dropped", &mut out).unwrap();
    none.finish(&mut out).unwrap();
    assert_eq!(out, b"raw");
}

#[test]
fn error_response() {
    let mut out = Vec::new();
    write_error(&mut out, &HttpError::new(431, "head too large"));
    let text = String::from_utf8(out).unwrap();
    let body = "431 Request Header Fields Too Large: head too large\n";
    assert!(
        text.starts_with(
            "HTTP/1.1 431 Request Header Fields Too Large\r\nDate: "
        )
    );
    assert!(text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert!(text.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
    assert!(text.contains("\r\nConnection: close\r\n\r\n"));
    assert!(text.ends_with(&format!("\r\n\r\n{body}")));
}
