//! RFC 9110 and RFC 9112 requirements on a server, checked over real
//! sockets on parts 2, 3 and 4. The table in the book's HTTP appendix
//! names these checks; each says in its comment which rule it holds the
//! server to.

use std::io::Write;
use std::net::SocketAddr;

use tests::client::{Response, ResponseReader, connect, request};
use tests::{Options, check};

/// Starts a part with an app of the check's own (a closure), for rules
/// that only an unusual app can reach: a 205 with a body, a 1xx status.
macro_rules! check_app {
    ($name:ident, [$($part:ident),+ $(,)?], $app:expr, $body:expr) => {
        check!($name, [$($part),+], own_server, |part| {
            let app: part2_gateway::SharedApp = std::sync::Arc::new($app);
            let server =
                tests::start_with_app(part, &Options::default(), Some(app));
            let check: fn(&tests::TestServer) = $body;
            check(&server);
        });
    };
}

fn statics() -> Options {
    Options::app("static")
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").into_bytes()
}

/// Sends `requests` on one connection and reads one response per
/// method in `methods`, then checks nothing else arrived.
fn on_one_connection(
    addr: SocketAddr,
    requests: &[u8],
    methods: &[&str],
) -> Vec<Response> {
    let mut reader = ResponseReader::new(connect(addr));
    reader.stream().write_all(requests).expect("send");
    let responses = methods
        .iter()
        .map(|m| reader.next(m).expect("a response"))
        .collect();
    assert!(reader.leftover().is_empty(), "stray bytes after the last");
    responses
}

const HELLO_TXT: &[u8] = include_bytes!("../../part2-gateway/site/hello.txt");

// RFC 9110 §8.8.2, §8.8.3, §15.3.1: a 200 to GET or HEAD carries a strong
// entity tag and a Last-Modified no later than the Date; §9.3.2: HEAD
// gets the header fields of a GET.
check!(
    static_files_have_validators,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let r = request(s.addr(), &get("/hello.txt", ""));
        assert_eq!((r.status, r.body.as_slice()), (200, HELLO_TXT));
        let etag = r.header("ETag").expect("ETag");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
        let modified = r.header("Last-Modified").expect("Last-Modified");
        let date = r.header("Date").expect("Date");
        assert!(seconds(modified) <= seconds(date), "{modified} > {date}");
        let head = b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        let h = request(s.addr(), head);
        let without_date = |r: &Response| {
            let mut fields = r.headers.clone();
            fields.retain(|(n, _)| n != "Date");
            fields
        };
        assert_eq!(without_date(&h), without_date(&r));
    }
);

/// Seconds since the epoch of an HTTP-date, for comparing two.
fn seconds(date: &str) -> i64 {
    let parsed = part2_gateway::rfc::parse_http_date(date);
    parsed.expect("an HTTP-date").timestamp()
}

// RFC 9110 §13.1.2 (weak comparison, `*`), §13.1.3 (If-None-Match makes
// If-Modified-Since ignored), §15.4.5 (304: ETag, no content), on one
// connection to show a 304 leaves nothing behind.
check!(
    static_if_none_match,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let r = request(s.addr(), &get("/hello.txt", ""));
        let etag = r.header("ETag").expect("ETag").to_string();
        let modified = r.header("Last-Modified").expect("LM").to_string();
        let mut all = Vec::new();
        for inm in [etag.clone(), format!("W/{etag}"), "*".into()] {
            all.extend(get("/hello.txt", &format!("If-None-Match: {inm}\r\n")));
        }
        all.extend(get(
            "/hello.txt",
            &format!(
                "If-None-Match: \"other\"\r\nIf-Modified-Since: {modified}\r\n"
            ),
        ));
        let responses = on_one_connection(s.addr(), &all, &["GET"; 4]);
        for r in &responses[..3] {
            assert_eq!(r.status, 304);
            assert_eq!(r.header("ETag"), Some(etag.as_str()));
            assert!(r.body.is_empty());
            assert_eq!(r.header("Content-Length"), None);
        }
        assert_eq!(responses[3].status, 200);
        assert_eq!(responses[3].body, HELLO_TXT);
    }
);

// RFC 9110 §13.1.1, §13.1.4, §13.2.2: If-Match compares strongly and
// comes first; If-Unmodified-Since in the past fails; both get 412.
check!(
    static_if_match_and_if_unmodified_since,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let r = request(s.addr(), &get("/hello.txt", ""));
        let etag = r.header("ETag").expect("ETag").to_string();
        let ok = request(
            s.addr(),
            &get("/hello.txt", &format!("If-Match: {etag}\r\n")),
        );
        assert_eq!(ok.status, 200);
        let old = "Thu, 01 Jan 1970 00:00:00 GMT";
        for extra in [
            format!("If-Match: W/{etag}\r\n"),
            "If-Match: \"other\"\r\n".to_string(),
            format!("If-Unmodified-Since: {old}\r\n"),
            format!("If-Match: \"other\"\r\nIf-None-Match: {etag}\r\n"),
        ] {
            let r = request(s.addr(), &get("/hello.txt", &extra));
            assert_eq!(r.status, 412, "{extra}");
            assert_eq!(r.body, b"412 Precondition Failed\n");
        }
    }
);

// RFC 9110 §14.2, §15.3.7: one range is a 206 with Content-Range and the
// validators of a 200; §14.4, §15.5.17: an unsatisfiable one is a 416
// with `bytes */length`; several get the whole file (allowed by §14.2).
check!(
    static_byte_ranges,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let len = HELLO_TXT.len();
        let all = [
            get("/hello.txt", "Range: bytes=0-4\r\n"),
            get("/hello.txt", "Range: bytes=-10\r\n"),
            get("/hello.txt", &format!("Range: bytes={len}-\r\n")),
            get("/hello.txt", "Range: bytes=0-1, 3-4\r\n"),
            get("/hello.txt", "Range: lines=1-2\r\n"),
        ]
        .concat();
        let r = on_one_connection(s.addr(), &all, &["GET"; 5]);
        assert_eq!((r[0].status, r[0].body.as_slice()), (206, &HELLO_TXT[..5]));
        assert_eq!(
            r[0].header("Content-Range"),
            Some(format!("bytes 0-4/{len}").as_str())
        );
        assert!(r[0].header("ETag").is_some());
        assert!(r[0].header("Content-Type").is_some());
        assert_eq!(r[1].status, 206);
        assert_eq!(r[1].body, &HELLO_TXT[len - 10..]);
        assert_eq!(r[2].status, 416);
        assert_eq!(
            r[2].header("Content-Range"),
            Some(format!("bytes */{len}").as_str())
        );
        for whole in &r[3..] {
            assert_eq!((whole.status, whole.body.as_slice()), (200, HELLO_TXT));
        }
    }
);

// RFC 9110 §13.1.5: If-Range with the current tag or (strong) date lets
// the range apply; with anything else the whole file comes back.
check!(
    static_if_range,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let r = request(s.addr(), &get("/hello.txt", ""));
        let etag = r.header("ETag").expect("ETag").to_string();
        let range = |if_range: &str| {
            let extra = format!("Range: bytes=1-2\r\nIf-Range: {if_range}\r\n");
            request(s.addr(), &get("/hello.txt", &extra))
        };
        let part = range(&etag);
        assert_eq!(
            (part.status, part.body.as_slice()),
            (206, &HELLO_TXT[1..3])
        );
        for stale in ["\"other\"", &format!("W/{etag}")] {
            let whole = range(stale);
            assert_eq!((whole.status, whole.body.as_slice()), (200, HELLO_TXT));
        }
    }
);

// RFC 9110 §14.2: range handling is defined for GET only; a HEAD with
// Range gets the head of the whole file.
check!(
    static_head_ignores_range,
    [Part2, Part3, Part4],
    options(statics()),
    |s| {
        let head =
            b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n";
        let r = request(s.addr(), head);
        assert_eq!(r.status, 200);
        let len = HELLO_TXT.len().to_string();
        assert_eq!(r.header("Content-Length"), Some(len.as_str()));
    }
);

// RFC 9110 §8.6, §9.3.2: a Content-Length in a response to HEAD must be
// the length a GET would get. The environ app answers HEAD with no body
// and no declared length; a `Content-Length: 0` would be a lie.
check!(
    head_does_not_claim_an_empty_body,
    [Part2, Part3, Part4],
    options(Options::app("environ")),
    |s| {
        let get = request(s.addr(), &get("/", ""));
        assert!(!get.body.is_empty());
        let head = request(s.addr(), b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(head.status, 200);
        assert_eq!(head.header("Content-Length"), None);
        assert_eq!(head.header("Accept-Ranges"), None);
        for field in ["Content-Encoding", "Vary", "ETag", "Content-Type"] {
            assert_eq!(head.header(field), get.header(field), "{field}");
        }
    }
);

fn early_hints(
    _: &mut part2_gateway::Environ<'_>,
    start_response: &mut part2_gateway::StartResponse,
) -> part2_gateway::Body {
    start_response.start("103 Early Hints", vec![]);
    part2_gateway::Body::from("not a final response\n")
}

// RFC 9110 §15.2: a 1xx is never a final response, and a server MUST NOT
// send one to an HTTP/1.0 client. An app that answers with one has
// failed: 500, on both versions, and the connection goes on.
check_app!(
    an_interim_status_from_the_app_is_a_500,
    [Part2, Part3, Part4],
    early_hints,
    |s| {
        for version in ["1.1", "1.0"] {
            let req = format!(
                "GET / HTTP/{version}\r\nHost: x\r\n\
                 Connection: keep-alive\r\n\r\n"
            );
            let r = on_one_connection(s.addr(), req.as_bytes(), &["GET"]);
            assert_eq!(r[0].status, 500, "HTTP/{version}");
        }
    }
);

fn reset_content(
    _: &mut part2_gateway::Environ<'_>,
    start_response: &mut part2_gateway::StartResponse,
) -> part2_gateway::Body {
    start_response.start("205 Reset Content", vec![]);
    part2_gateway::Body::from("content a 205 must not have\n")
}

// RFC 9110 §15.3.6: a server MUST NOT generate content in a 205. The
// app's body is dropped and the response framed as empty, so the next
// response on the connection starts where it should.
check_app!(
    reset_content_has_no_content,
    [Part2, Part3, Part4],
    reset_content,
    |s| {
        let req = get("/", "");
        let r = on_one_connection(
            s.addr(),
            &[req.clone(), req].concat(),
            &["GET"; 2],
        );
        for r in r {
            assert_eq!(r.status, 205);
            assert!(
                r.body.is_empty(),
                "{:?}",
                String::from_utf8_lossy(&r.body)
            );
            assert_eq!(r.header("Content-Length"), Some("0"));
        }
    }
);

fn control_characters(
    _: &mut part2_gateway::Environ<'_>,
    start_response: &mut part2_gateway::StartResponse,
) -> part2_gateway::Body {
    start_response.start(
        "200 Fine\x07",
        vec![
            ("X-Bell".into(), "ring\x07ring".into()),
            ("X-Escape".into(), "\x1b[31mred".into()),
            ("X-Tab".into(), "a\tb".into()),
        ],
    );
    part2_gateway::Body::from("ok\n")
}

// RFC 9112 §4 and §5, RFC 9110 §5.5: a reason phrase and a field value
// hold visible characters, spaces and tabs; a sender MUST NOT generate
// anything else (RFC 9110 §2.2). Fields with controls are dropped and a
// bad reason phrase replaced, as CR and LF already were.
check_app!(
    no_control_characters_in_the_head,
    [Part2, Part3, Part4],
    control_characters,
    |s| {
        let r = request(s.addr(), &get("/", ""));
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!(r.header("X-Bell"), None);
        assert_eq!(r.header("X-Escape"), None);
        assert_eq!(r.header("X-Tab"), Some("a\tb"));
    }
);

/// Sends `bytes` (a HEAD the server refuses) and reads the answer as a
/// response to HEAD: a head only, then the close.
fn refused_head(addr: SocketAddr, bytes: &[u8]) -> Response {
    let mut reader = ResponseReader::new(connect(addr));
    reader.stream().write_all(bytes).expect("send");
    let r = reader.next("HEAD").expect("a response");
    assert!(reader.leftover().is_empty(), "content after a HEAD's head");
    assert!(reader.closed(), "no close after an error");
    r
}

/// HEAD requests refused, before the head is parsed, after, and for
/// their body, with the status each gets.
const REFUSED_HEADS: &[(&[u8], u16)] = &[
    (b"HEAD / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", 417),
    (b"\r\nHEAD / HTTP/1.1\r\n\r\n", 400),
    (b"HEAD / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (
        b"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
        413,
    ),
];

// RFC 9110 §9.3.2: the server MUST NOT send content in a response to
// HEAD, error responses included (§15.5: the explanation is for other
// methods).
check!(errors_to_head_have_no_content, [Part2, Part3, Part4], |s| {
    for (bytes, status) in REFUSED_HEADS {
        let r = refused_head(s.addr(), bytes);
        assert_eq!(r.status, *status, "{}", String::from_utf8_lossy(bytes));
        assert!(r.header("Content-Length").is_some());
    }
    // A bad body: parts 3 and 4 refuse it before the app runs; part 2
    // runs the app first (hello reads no body) and closes once it finds
    // the body bad. A head only, either way.
    let chunked = b"HEAD / HTTP/1.1\r\nHost: x\r\n\
        Transfer-Encoding: chunked\r\n\r\nzz\r\n";
    let r = refused_head(s.addr(), chunked);
    assert!([200, 400].contains(&r.status), "{}", r.status);
});

// The same for a HEAD that never finished its head: 408, no content.
check!(
    a_slow_head_gets_408_without_content,
    [Part2, Part3, Part4],
    options(Options::short_timeouts()),
    |s| {
        let r = refused_head(s.addr(), b"HEAD / HTTP/1.1\r\nHost:");
        assert_eq!(r.status, 408);
    }
);

// RFC 9110 §10.1.1: a server that answers before reading the content
// SHOULD say whether it will close or read on; RFC 9112 §9.6: a server
// that will close SHOULD send `Connection: close`. Part 2 answers a 404
// without asking for the body and closes; parts 3 and 4 ask for it,
// read it and keep the connection. Either way the head tells the truth.
check!(
    an_answer_before_the_body_says_close,
    [Part2, Part3, Part4],
    options(Options::app("demo")),
    |s| {
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader
            .stream()
            .write_all(
                b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
                  Expect: 100-continue\r\n\r\n",
            )
            .expect("send");
        let mut r = reader.next("POST").expect("a response");
        if r.status == 100 {
            reader.stream().write_all(b"hello").expect("send body");
            r = reader.next("POST").expect("the final response");
        }
        assert_eq!(r.status, 404);
        if r.header("Connection") != Some("close") {
            // Kept: the next request must be served.
            reader.stream().write_all(&get("/hello", "")).expect("send");
            let next = reader.next("GET").expect("kept alive");
            assert_eq!(next.status, 200);
        } else {
            assert!(reader.closed());
        }
    }
);

// RFC 9112 §3.2: a server MUST answer 400 to a Host field with an
// invalid value: `uri-host [ ":" port ]` (RFC 3986), nothing else.
check!(invalid_host_values_are_400, [Part2, Part3, Part4], |s| {
    for host in [
        "x:abc", "x:80:90", "user@x", "x\"y", "[::1", "[::1]x", "[::1]:a",
        "a%zz", "a<b", "a b", "a, b", "x/y", "x?y", "x#y",
    ] {
        let r = request(s.addr(), &get_with_host(host));
        assert_eq!(r.status, 400, "Host: {host}");
        assert_eq!(r.header("Connection"), Some("close"));
    }
    for host in [
        "x",
        "example.com:8080",
        "[::1]:8888",
        "[::1]",
        "127.0.0.1",
        "",
        "x:",
        "a%20b",
        "xn--bcher-kva.example",
        "a-b_c~d.e!f$g&h'i(j)k*l+m;n=o",
    ] {
        let r = request(s.addr(), &get_with_host(host));
        assert_eq!(r.status, 200, "Host: {host}");
    }
});

fn get_with_host(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

// RFC 9110 §15.6.6: a 505 SHOULD say what the server does support.
check!(
    version_not_supported_says_which_are,
    [Part2, Part3, Part4],
    |s| {
        let r = request(s.addr(), b"GET / HTTP/3.0\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 505);
        let text = String::from_utf8_lossy(&r.body);
        assert!(text.contains("HTTP/1.0 and HTTP/1.1"), "{text}");
    }
);

fn demo() -> Options {
    Options::app("demo")
}

// RFC 9110 §9.3.2: a HEAD gets the fields of its GET; §8.6: its
// Content-Length must be the GET's. Through the demo's gzip, a GET of a
// large text file is gzipped, its length unknown: the HEAD names no
// length either, and says gzip with the same Vary and weak tag. And gzip
// drops Accept-Ranges: ranges of the plain file say nothing about the
// gzipped bytes.
check!(
    head_through_gzip_has_the_fields_of_its_get,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let ae = "Accept-Encoding: gzip\r\n";
        let get = request(s.addr(), &get("/static/index.html", ae));
        assert_eq!(get.header("Content-Encoding"), Some("gzip"));
        assert_eq!(get.header("Content-Length"), None);
        assert_eq!(get.header("Accept-Ranges"), None);
        assert!(get.header("ETag").is_some_and(|t| t.starts_with("W/")));
        let head =
            format!("HEAD /static/index.html HTTP/1.1\r\nHost: x\r\n{ae}\r\n");
        let head = request(s.addr(), head.as_bytes());
        assert_eq!(head.status, 200);
        assert_eq!(head.header("Content-Length"), None);
        assert_eq!(head.header("Accept-Ranges"), None);
        for field in ["Content-Encoding", "Vary", "ETag", "Content-Type"] {
            assert_eq!(head.header(field), get.header(field), "{field}");
        }
    }
);

// RFC 9110 §15.3.7: a 206 carries the Vary a 200 would (the demo's 200
// varies with Accept-Encoding); §15.4.5: so does a 304, and the ETag the
// 200 would have had, weak for a gzipped copy.
check!(
    parts_and_304s_through_gzip_vary_like_the_200,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let ae = "Accept-Encoding: gzip\r\n";
        let full = request(s.addr(), &get("/static/index.html", ae));
        assert_eq!(full.header("Vary"), Some("Accept-Encoding"));
        let range = format!("{ae}Range: bytes=0-9\r\n");
        let part = request(s.addr(), &get("/static/index.html", &range));
        assert_eq!(part.status, 206);
        assert_eq!(part.body.len(), 10);
        assert_eq!(part.header("Content-Encoding"), None);
        assert_eq!(part.header("Vary"), Some("Accept-Encoding"));
        let plain = request(s.addr(), &get("/static/index.html", ""));
        let etag = plain.header("ETag").expect("ETag");
        let inm = format!("{ae}If-None-Match: {etag}\r\n");
        let not_modified = request(s.addr(), &get("/static/index.html", &inm));
        assert_eq!(not_modified.status, 304);
        assert_eq!(not_modified.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(not_modified.header("ETag"), Some(etag));
        // A client holding the gzipped copy's weak tag gets that tag back.
        let weak = full.header("ETag").expect("ETag");
        assert_eq!(weak, format!("W/{etag}"));
        let inm = format!("{ae}If-None-Match: \"other\", {weak}\r\n");
        let not_modified = request(s.addr(), &get("/static/index.html", &inm));
        assert_eq!(not_modified.status, 304);
        assert_eq!(not_modified.header("ETag"), Some(weak));
    }
);

// RFC 9112 §3.2.2: an origin server MUST ignore Host when the target is
// in absolute-form and use the target's authority instead (an app sees
// it as HTTP_HOST and SERVER_NAME). RFC 9110 §4.2.1: an http URI with an
// empty host is invalid; §4.2.4: userinfo in one is treated as an error.
check!(
    absolute_form_targets_name_the_host,
    [Part2, Part3, Part4],
    options(Options::app("environ")),
    |s| {
        let r = request(
            s.addr(),
            b"GET http://Example.test:8080/some/path?x=1 HTTP/1.1\r\n\
              Host: other.test\r\n\r\n",
        );
        assert_eq!(r.status, 200);
        let text = String::from_utf8_lossy(&r.body);
        for line in [
            "HTTP_HOST=Example.test:8080",
            "SERVER_NAME=Example.test",
            "PATH_INFO=/some/path",
            "QUERY_STRING=x=1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        for target in ["http:///x", "http://user@x/", "http://x:y/", "http://"]
        {
            let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            let r = request(s.addr(), req.as_bytes());
            assert_eq!(r.status, 400, "{target}");
        }
    }
);

// RFC 9110 §7.4: an origin server MUST reject a request whose target it
// cannot answer for: an https URI over plain TCP, or another scheme.
// 421 Misdirected Request says so, and the connection closes.
check!(misdirected_schemes_get_421, [Part2, Part3, Part4], |s| {
    for target in ["https://x/", "HTTPS://x/", "ftp://x/file", "ws://x/"] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = request(s.addr(), req.as_bytes());
        assert_eq!(r.status, 421, "{target}");
        assert_eq!(r.header("Connection"), Some("close"));
    }
    let ok = request(s.addr(), b"GET HTTP://x/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(ok.status, 200);
});

/// Requests refused for their syntax or framing, with the status each
/// gets; after each the connection closes.
const REFUSED: &[(&str, &[u8], u16)] = &[
    // RFC 9112 §2.2: whitespace before the first field line.
    (
        "space after the request line",
        b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
        400,
    ),
    // RFC 9112 §7.1: chunked has no parameters; one is an error.
    (
        "chunked with a parameter",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;a=b\r\n\r\n",
        400,
    ),
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
    (
        "Transfer-Encoding in HTTP/1.0",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
];

check!(refused_framing_closes, [Part2, Part3, Part4], |s| {
    for (what, bytes, status) in REFUSED {
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader.stream().write_all(bytes).expect("send");
        let r = reader.next("POST").expect("a response");
        assert_eq!(r.status, *status, "{what}");
        assert_eq!(r.header("Connection"), Some("close"), "{what}");
        // RFC 9110 §6.6.1: a 4xx carries a Date too.
        assert!(r.header("Date").is_some(), "{what}");
        assert!(reader.closed(), "{what}");
    }
});

// RFC 9112 §2.2: empty lines before a request line are ignored; §3: a
// request line of 8000 octets is served.
check!(robust_request_lines, [Part2, Part3, Part4], |s| {
    let r = request(s.addr(), b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200);
    let target = format!("/{}", "a".repeat(8000 - "GET  HTTP/1.1".len() - 1));
    let line = format!("GET {target} HTTP/1.1");
    assert_eq!(line.len(), 8000);
    let r = request(s.addr(), format!("{line}\r\nHost: x\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200);
});

// RFC 9112 §9.6: after a request with `Connection: close` the server
// closes, and processes nothing sent after it on that connection.
check!(nothing_after_close_is_served, [Part2, Part3, Part4], |s| {
    let two = [get("/", "Connection: close\r\n"), get("/", "")].concat();
    let mut reader = ResponseReader::new(connect(s.addr()));
    reader.stream().write_all(&two).expect("send");
    let r = reader.next("GET").expect("the first response");
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(reader.closed(), "a second response came");
});

// RFC 9112 §9.3: a server reads the whole body (or closes) before the
// next request: hello ignores the body, which must not be read as a
// request.
check!(an_unread_body_is_skipped, [Part2, Part3, Part4], |s| {
    let body = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let post = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let all = [post.into_bytes(), get("/", "")].concat();
    let r = on_one_connection(s.addr(), &all, &["POST", "GET"]);
    assert_eq!((r[0].status, r[1].status), (200, 200));
});

// RFC 9110 §10.1.1 and §15.2: `Expect: 100-continue` from an HTTP/1.0
// client is ignored: no 1xx ever goes to HTTP/1.0.
check!(
    no_100_continue_for_http_1_0,
    [Part2, Part3, Part4],
    options(Options::app("echo")),
    |s| {
        let req = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\
                    Content-Length: 5\r\n\r\nhello";
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader.stream().write_all(req).expect("send");
        let r = reader.next("POST").expect("a response");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    }
);

// RFC 9110 §6.5.1: trailer fields are not merged into the header
// section; the app never sees them.
check!(
    trailers_do_not_reach_the_app,
    [Part2, Part3, Part4],
    options(Options::app("environ")),
    |s| {
        let req = b"POST / HTTP/1.1\r\nHost: x\r\n\
                    Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n\
                    0\r\nX-Late: 1\r\nContent-Type: evil\r\n\r\n";
        let r = request(s.addr(), req);
        let text = String::from_utf8_lossy(&r.body);
        assert!(!text.contains("X_LATE") && !text.contains("evil"), "{text}");
    }
);

fn streamed(
    environ: &mut part2_gateway::Environ<'_>,
    start_response: &mut part2_gateway::StartResponse,
) -> part2_gateway::Body {
    if environ.path_info() == "/empty" {
        start_response.start("204 No Content", vec![]);
        return part2_gateway::Body::from("content a 204 cannot have\n");
    }
    start_response
        .start("200 OK", vec![("Content-Type".into(), "text/plain".into())]);
    let pieces = ["one ", "two ", "three\n"].map(|p| Ok(p.as_bytes().to_vec()));
    part2_gateway::Body::stream(pieces.into_iter())
}

// RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 client (a body of
// unknown length ends with the connection, §6.3), nor in a 204; RFC 9110
// §8.6 and §15.3.5: no Content-Length and no content in a 204 either.
check_app!(
    framing_by_version_and_status,
    [Part2, Part3, Part4],
    streamed,
    |s| {
        let r = request(s.addr(), &get("/", ""));
        assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
        assert_eq!(r.body, b"one two three\n");
        let old = b"GET / HTTP/1.0\r\n\r\n";
        let mut reader = ResponseReader::new(connect(s.addr()));
        reader.stream().write_all(old).expect("send");
        let r = reader.next("GET").expect("a response");
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.header("Content-Length"), None);
        assert_eq!(r.header("Connection"), Some("close"));
        assert_eq!(r.body, b"one two three\n");
        let two = [get("/empty", ""), get("/empty", "")].concat();
        for r in on_one_connection(s.addr(), &two, &["GET"; 2]) {
            assert_eq!(r.status, 204);
            assert_eq!(r.header("Transfer-Encoding"), None);
            assert_eq!(r.header("Content-Length"), None);
        }
    }
);

// RFC 9112 §9.3, RFC 9110 §7.6.1: a server without persistent
// connections (Part 1) says `close` in every response.
check!(part_1_says_close, [Part1], |s| {
    let r = request(s.addr(), &get("/", ""));
    assert_eq!(r.header("Connection"), Some("close"));
});

// RFC 9112 §9.6: a server that will close after a response SHOULD say
// `Connection: close` in it. A request that becomes whole while Parts 3
// and 4 shut down is still answered, and is the connection's last. The
// idle connection tells when the drain has begun: it is closed at once.
check!(
    a_request_finished_while_draining_says_close,
    [Part3, Part4],
    own_server,
    |part| {
        let server = tests::start(part, &Options::app("echo"));
        let addr = server.addr();
        let mut idle = ResponseReader::new(connect(addr));
        idle.stream().write_all(&get("/", "")).expect("send");
        assert_eq!(idle.next("GET").expect("a response").status, 200);
        // Parts 3 and 4 say `100 Continue` once the head is in: from then on
        // the server holds a request in the middle of its body.
        let mut busy = ResponseReader::new(connect(addr));
        let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
                 Expect: 100-continue\r\n\r\n";
        busy.stream().write_all(head).expect("send");
        assert_eq!(busy.next("POST").expect("100 Continue").status, 100);
        // Dropping the server stops it and waits for the drain to end.
        let stopping = std::thread::spawn(move || drop(server));
        assert!(idle.closed(), "the drain has begun");
        busy.stream().write_all(b"hi").expect("send the body");
        let r = busy.next("POST").expect("the final response");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(r.header("Connection"), Some("close"));
        assert!(busy.closed());
        // The server may linger until the client closes too.
        drop(busy);
        stopping.join().expect("stopped");
    }
);
