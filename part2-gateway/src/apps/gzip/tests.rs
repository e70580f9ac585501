use super::*;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::read::GzDecoder;

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// Some text that compresses well.
fn text(len: usize) -> Vec<u8> {
    b"the quick brown fox jumps over the lazy dog\n"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// An app answering `status` with `headers` and a body made by
/// `body` (a fresh one per call).
fn app(
    status: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: impl Fn() -> Body + Send + Sync + 'static,
) -> impl App {
    move |_: &mut Environ<'_>, sr: &mut StartResponse| {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        sr.start(status, headers);
        body()
    }
}

fn run(
    app: &dyn App,
    method: &str,
    accept: Option<&str>,
) -> (StartResponse, Body) {
    let mut environ = Environ::for_test(method, "/");
    if let Some(accept) = accept {
        environ.set("HTTP_ACCEPT_ENCODING", accept);
    }
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    (sr, body)
}

const HTML: &[(&str, &str)] = &[("Content-Type", "text/html")];

#[test]
fn negotiation() {
    for (header, expect) in [
        (None, false),
        (Some(""), false),
        (Some("gzip"), true),
        (Some("GZIP"), true),
        (Some("x-gzip"), true),
        (Some("deflate, gzip, br"), true),
        (Some("gzip;q=0"), false),
        (Some("gzip; q=0.000"), false),
        (Some("gzip;q=0.001"), true),
        (Some("gzip;q=1.0"), true),
        (Some("gzip;Q=0.5"), true),
        (Some("gzip;q=2"), false),
        (Some("gzip;q=0.5555"), false),
        (Some("gzip;q=abc"), false),
        (Some("br"), false),
        (Some("identity"), false),
        (Some("*"), true),
        (Some("*;q=0"), false),
        (Some("*;q=0, gzip"), true),
        (Some("gzip;q=0, *"), false),
        (Some("gzip;q=0.5, identity;q=1"), false),
        (Some("gzip;q=1, identity;q=0.5"), true),
        (Some("gzip, identity;q=0"), true),
        (Some("identity;q=0"), false),
        (Some("gzip;q=0.8, *;q=0.9"), false),
        (Some("x-gzip;q=0, gzip"), true),
    ] {
        assert_eq!(accepts_gzip(header), expect, "{header:?}");
    }
}

#[test]
fn qvalues() {
    assert_eq!(parse_qvalue("1"), Some(1000));
    assert_eq!(parse_qvalue("1.000"), Some(1000));
    assert_eq!(parse_qvalue("0.5"), Some(500));
    assert_eq!(parse_qvalue("0.25"), Some(250));
    assert_eq!(parse_qvalue("0"), Some(0));
    assert_eq!(parse_qvalue("0."), Some(0));
    for bad in ["1.5", "1.0001", "-1", "", ".5", "x", "0.1234"] {
        assert_eq!(parse_qvalue(bad), None, "{bad}");
    }
}

#[test]
fn a_whole_body_is_compressed() {
    let original = text(10_000);
    let copy = original.clone();
    let app = Gzip::new(app(
        "200 OK",
        &[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", "10000"),
            ("Vary", "Cookie"),
            ("ETag", "\"v1\""),
        ],
        move || Body::Full(copy.clone()),
    ));
    let (sr, body) = run(&app, "GET", Some("gzip, deflate"));
    assert_eq!(sr.status(), Some("200 OK"));
    assert_eq!(sr.header("Content-Encoding"), Some("gzip"));
    assert_eq!(sr.header("Content-Length"), None);
    assert_eq!(sr.header("Vary"), Some("Cookie, Accept-Encoding"));
    assert_eq!(sr.header("ETag"), Some("W/\"v1\""));
    let bytes = body.into_bytes().unwrap();
    assert!(bytes.len() < original.len() / 10);
    assert_eq!(gunzip(&bytes), original);
}

#[test]
fn head_gets_the_fields_of_its_get() {
    // RFC 9110 §9.3.2: the same Content-Encoding, Vary and weak tag,
    // and no identity length, whether the app sends a body or not.
    for full in [true, false] {
        let app = Gzip::new(app(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Content-Length", "10000"),
                ("ETag", "\"v1\""),
                ("Accept-Ranges", "bytes"),
            ],
            move || match full {
                true => Body::Full(text(10_000)),
                false => Body::Empty,
            },
        ));
        let (sr, _) = run(&app, "HEAD", Some("gzip"));
        assert_eq!(sr.header("Content-Encoding"), Some("gzip"));
        assert_eq!(sr.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(sr.header("ETag"), Some("W/\"v1\""));
        assert_eq!(sr.header("Content-Length"), None);
        assert_eq!(sr.header("Accept-Ranges"), None);
    }
}

#[test]
fn a_stream_is_compressed_as_it_goes() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let app = Gzip::new(app("200 OK", HTML, move || {
        let counter = Arc::clone(&counter);
        Body::stream((0..100).map(move |i| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(format!("<p>line {i} of a long page</p>\n").into_bytes())
        }))
    }));
    let (sr, body) = run(&app, "GET", Some("gzip"));
    assert_eq!(sr.header("Content-Encoding"), Some("gzip"));
    let Body::Stream(mut chunks) = body else {
        panic!("not streamed")
    };
    let first = chunks.next().unwrap().unwrap();
    assert!(!first.is_empty());
    // Output came out after one inner chunk, not after all of them.
    assert_eq!(pulled.load(Ordering::SeqCst), 1);
    let mut all = first;
    let mut count = 1;
    for chunk in chunks {
        all.extend(chunk.unwrap());
        count += 1;
    }
    assert!(count > 50, "{count} chunks");
    let expected: String = (0..100)
        .map(|i| format!("<p>line {i} of a long page</p>\n"))
        .collect();
    assert_eq!(gunzip(&all), expected.as_bytes());
}

#[test]
fn a_stream_error_is_passed_on() {
    let app = Gzip::new(app("200 OK", HTML, || {
        Body::stream(
            vec![Ok(text(1000)), Err(io::Error::other("broken"))].into_iter(),
        )
    }));
    let (_, body) = run(&app, "GET", Some("gzip"));
    let Body::Stream(mut chunks) = body else {
        panic!("not streamed")
    };
    assert!(chunks.next().unwrap().is_ok());
    assert!(chunks.next().unwrap().is_err());
    assert!(chunks.next().is_none());
}

#[test]
fn without_gzip_in_accept_encoding_only_vary_is_added() {
    let app = Gzip::new(app("200 OK", HTML, || Body::Full(text(1000))));
    for accept in [None, Some("identity"), Some("gzip;q=0"), Some("*;q=0")] {
        let (sr, body) = run(&app, "GET", accept);
        assert_eq!(sr.header("Content-Encoding"), None, "{accept:?}");
        assert_eq!(sr.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(body.into_bytes().unwrap(), text(1000));
    }
}

#[test]
fn some_responses_are_left_alone() {
    let big = || Body::Full(text(1000));
    let cases: Vec<(&str, Box<dyn App>, &str)> = vec![
        (
            "tiny",
            Box::new(Gzip::new(app("200 OK", HTML, || "hi".into()))),
            "GET",
        ),
        (
            "tiny by Content-Length",
            Box::new(Gzip::new(app(
                "200 OK",
                &[("Content-Type", "text/html"), ("Content-Length", "10")],
                || Body::stream(std::iter::once(Ok(b"0123456789".to_vec()))),
            ))),
            "GET",
        ),
        (
            "png",
            Box::new(Gzip::new(app(
                "200 OK",
                &[("Content-Type", "image/png")],
                big,
            ))),
            "GET",
        ),
        (
            "zip",
            Box::new(Gzip::new(app(
                "200 OK",
                &[("Content-Type", "application/zip")],
                big,
            ))),
            "GET",
        ),
        (
            "no type",
            Box::new(Gzip::new(app("200 OK", &[], big))),
            "GET",
        ),
        (
            "encoded",
            Box::new(Gzip::new(app(
                "200 OK",
                &[("Content-Type", "text/html"), ("Content-Encoding", "br")],
                big,
            ))),
            "GET",
        ),
        (
            "no-transform",
            Box::new(Gzip::new(app(
                "200 OK",
                &[
                    ("Content-Type", "text/html"),
                    ("Cache-Control", "public, no-transform"),
                ],
                big,
            ))),
            "GET",
        ),
        (
            "204",
            Box::new(Gzip::new(app("204 No Content", HTML, || Body::Empty))),
            "GET",
        ),
        (
            "304",
            Box::new(Gzip::new(app("304 Not Modified", HTML, || Body::Empty))),
            "GET",
        ),
        (
            "206",
            Box::new(Gzip::new(app("206 Partial Content", HTML, big))),
            "GET",
        ),
    ];
    for (what, app, method) in &cases {
        let (sr, body) = run(app.as_ref(), method, Some("gzip"));
        assert_eq!(
            sr.header("Content-Encoding").filter(|e| *e == "gzip"),
            None,
            "{what}"
        );
        let body = body.into_bytes().unwrap();
        assert!(
            body.is_empty()
                || body == b"hi"
                || body == b"0123456789"
                || body == text(1000),
            "{what}"
        );
    }
}

#[test]
fn vary_is_not_repeated() {
    let app = Gzip::new(app(
        "200 OK",
        &[("Content-Type", "text/css"), ("vary", "accept-encoding")],
        || Body::Full(text(1000)),
    ));
    let (sr, _) = run(&app, "GET", Some("gzip"));
    let varies: Vec<_> = sr
        .headers()
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .collect();
    assert_eq!(varies.len(), 1);
    assert_eq!(varies[0].1, "accept-encoding");
}

#[test]
fn min_size_and_level_are_settable() {
    let app = Gzip::new(app("200 OK", HTML, || "hi".into()))
        .with_min_size(0)
        .with_level(9);
    let (sr, body) = run(&app, "GET", Some("gzip"));
    assert_eq!(sr.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&body.into_bytes().unwrap()), b"hi");
}

#[test]
fn a_broken_inner_app_is_left_to_the_server() {
    let app =
        Gzip::new(|_: &mut Environ<'_>, _: &mut StartResponse| Body::from("x"));
    let (sr, _) = run(&app, "GET", Some("gzip"));
    assert_eq!(sr.calls(), 0);
}

#[test]
fn the_static_site_gzips() {
    use crate::apps::static_files::StaticFiles;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
    let original = std::fs::read(root.join("index.html")).unwrap();
    let app = Gzip::new(StaticFiles::new(&root).unwrap());
    let mut environ = Environ::for_test("GET", "/index.html");
    environ.set("HTTP_ACCEPT_ENCODING", "gzip");
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    assert_eq!(sr.header("Content-Encoding"), Some("gzip"));
    assert!(matches!(body, Body::Stream(_)));
    assert_eq!(gunzip(&body.into_bytes().unwrap()), original);
}
