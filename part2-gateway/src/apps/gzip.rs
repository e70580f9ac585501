//! Gzip content coding as middleware.
//!
//! Middleware is an app that wraps an app: WSGI's favourite trick. This
//! one lets the inner app answer as usual, then, when the client accepts
//! gzip and the response is worth compressing, rewrites the headers and
//! compresses the body *as it streams*, chunk by chunk, so a large file
//! or a slow CGI script is never held in memory whole.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::environ::Environ;
use crate::gateway::{App, Body, Headers, StartResponse, header};

/// Bodies known to be shorter than this are sent as they are: gzip's
/// header and trailer alone are 18 bytes, and tiny bodies barely shrink.
pub const DEFAULT_MIN_SIZE: usize = 256;

/// Middleware that gzips the responses of `inner` for clients that
/// accept it (`Accept-Encoding`, RFC 9110 §12.5.3).
///
/// Left alone: responses without a body (1xx, 204, 304, HEAD), partial
/// content (206), responses that already have a `Content-Encoding` or
/// say `Cache-Control: no-transform`, types that are already compressed
/// (images, audio, video, archives) or unknown, and bodies known to be
/// shorter than the minimum size.
#[derive(Debug, Clone)]
pub struct Gzip<A: App> {
    inner: A,
    min_size: usize,
    level: Compression,
}

impl<A: App> Gzip<A> {
    /// Wraps `inner`, compressing at the default level bodies of
    /// [`DEFAULT_MIN_SIZE`] bytes or more (or of unknown length).
    pub fn new(inner: A) -> Self {
        Gzip {
            inner,
            min_size: DEFAULT_MIN_SIZE,
            level: Compression::default(),
        }
    }

    /// Leaves bodies known to be shorter than `min_size` uncompressed.
    pub fn with_min_size(mut self, min_size: usize) -> Self {
        self.min_size = min_size;
        self
    }

    /// The compression level, 0 (none) to 9 (smallest, slowest).
    pub fn with_level(mut self, level: u32) -> Self {
        self.level = Compression::new(level.min(9));
        self
    }
}

// ANCHOR: gzip-negotiate
/// Whether a client sending this `Accept-Encoding` should get gzip.
///
/// Per RFC 9110 §12.5.3: each coding may carry a weight `q` from 0 to 1,
/// and `q=0` means "not acceptable"; `*` stands for every coding not
/// listed; `x-gzip` is an old name for `gzip`. With no header at all we
/// send identity, as every server does (any coding would be allowed,
/// but old clients that send nothing do not decode gzip). Gzip is chosen
/// when its weight is above zero and not below that of `identity`.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(accept_encoding) = accept_encoding else {
        return false;
    };
    let (mut gzip, mut identity, mut star) = (None, None, None);
    for element in accept_encoding.split(',') {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut weight = Some(1000);
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                weight = parse_qvalue(value.trim());
            }
        }
        // An element with a malformed weight is ignored, not guessed at.
        let Some(weight) = weight else { continue };
        match coding.as_str() {
            "gzip" | "x-gzip" => gzip = gzip.max(Some(weight)),
            "identity" => identity = Some(weight),
            "*" => star = Some(weight),
            _ => {}
        }
    }
    let gzip = gzip.or(star).unwrap_or(0);
    // Identity is acceptable unless excluded; it only wins if the client
    // gave it (or `*`) a higher weight than gzip.
    let identity = identity.or(star).unwrap_or(0);
    gzip > 0 && gzip >= identity
}

/// A weight (`qvalue`, RFC 9110 §12.4.2) in thousandths: `0`, `0.5`,
/// `1.000` … Anything else is `None`.
fn parse_qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}
// ANCHOR_END: gzip-negotiate

/// Whether a response of this type is worth compressing: not when the
/// format is compressed already (it would only grow), nor when the type
/// is unknown.
fn compressible_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "image/svg+xml" {
        return true;
    }
    let compressed_families = ["image/", "video/", "audio/", "font/woff"];
    let compressed = [
        "application/octet-stream",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/pdf",
    ];
    !essence.is_empty()
        && !compressed_families.iter().any(|f| essence.starts_with(f))
        && !compressed.contains(&essence.as_str())
}

/// Whether a response with this status has a body that may be coded.
fn codable_status(code: u16) -> bool {
    // 1xx, 204 and 304 have no body; a 206 is a byte range of the
    // identity body, which gzip would make meaningless.
    !matches!(code, 100..=199 | 204 | 206 | 304)
}

/// Adds `Accept-Encoding` to `Vary`, appending to one already there.
fn add_vary(headers: &mut Headers) {
    let existing = headers
        .iter_mut()
        .find(|(name, _)| name.eq_ignore_ascii_case("Vary"));
    match existing {
        Some((_, value)) => {
            let listed = value
                .split(',')
                .map(str::trim)
                .any(|v| v == "*" || v.eq_ignore_ascii_case("Accept-Encoding"));
            if !listed {
                value.push_str(", Accept-Encoding");
            }
        }
        None => headers.push(("Vary".into(), "Accept-Encoding".into())),
    }
}

impl<A: App> App for Gzip<A> {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        // Read the request before the inner app may rewrite the environ.
        let wanted = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"));
        let head = environ.method() == "HEAD";
        // The inner app talks to our StartResponse, so we see its answer
        // before the server does, and can change it.
        let mut inner = StartResponse::new();
        let body = self.inner.handle(environ, &mut inner);
        let Some(status) = inner.status().map(str::to_string) else {
            // A broken inner app: the server reports it; we stay out.
            return body;
        };
        let code = inner.parsed_status().map_or(0, |(code, _)| code);
        let mut headers = std::mem::take(inner.headers_mut());
        let no_transform = header(&headers, "Cache-Control")
            .is_some_and(|v| v.to_ascii_lowercase().contains("no-transform"));
        let codable = codable_status(code)
            && header(&headers, "Content-Encoding").is_none()
            && !no_transform
            && compressible_type(header(&headers, "Content-Type"));
        if !codable {
            // A part or a 304 stands for a 200 that would vary with
            // Accept-Encoding, and must say so too (RFC 9110 §15.3.7,
            // §15.4.5). A 304 has no type to tell: Vary costs nothing.
            let part = code == 206
                && compressible_type(header(&headers, "Content-Type"));
            if part || code == 304 {
                add_vary(&mut headers);
            }
            start_response.start(&status, headers);
            return body;
        }
        // From here the response depends on Accept-Encoding, compressed
        // or not this time: a cache must not give a gzipped copy to a
        // client that did not ask for one.
        add_vary(&mut headers);
        let declared = header(&headers, "Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        // An empty body for HEAD says nothing of the GET's length.
        let known = match body {
            Body::Empty if head => None,
            _ => body.known_len(),
        };
        let small = declared
            .or(known)
            .is_some_and(|len| len < self.min_size as u64);
        if !wanted || small {
            start_response.start(&status, headers);
            return body;
        }
        if head {
            // The GET would be gzipped, its length unknown until the end:
            // the identity length would be a lie (RFC 9110 §8.6).
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("Content-Length"));
            start_response.start(&status, headers);
            return body;
        }
        let body = match body {
            Body::Stream(chunks) => Body::stream(GzipStream {
                inner: chunks,
                encoder: Some(GzEncoder::new(Vec::new(), self.level)),
            }),
            whole => match compress(whole, self.level) {
                Ok(bytes) => Body::Full(bytes),
                // Cannot happen with a Vec for output; if it did, the
                // response goes out as it was.
                Err(_) => {
                    start_response.start(&status, headers);
                    return Body::Empty;
                }
            },
        };
        recode_headers(&mut headers);
        start_response.start(&status, headers);
        body
    }
}

/// Turns the identity response's headers into the gzip response's.
fn recode_headers(headers: &mut Headers) {
    // The length changes, and is unknown until the end: the server will
    // frame the body with chunked coding (or closing, for HTTP/1.0).
    // Byte ranges are of the plain body, not of these bytes.
    headers.retain(|(name, _)| {
        !name.eq_ignore_ascii_case("Content-Length")
            && !name.eq_ignore_ascii_case("Accept-Ranges")
    });
    headers.push(("Content-Encoding".into(), "gzip".into()));
    // A strong ETag names these exact bytes, which we just changed; a
    // weak one still says "the same resource, semantically".
    for (name, value) in headers.iter_mut() {
        if name.eq_ignore_ascii_case("ETag") && !value.starts_with("W/") {
            *value = format!("W/{value}");
        }
    }
}

/// Compresses a body that is already whole in memory.
fn compress(body: Body, level: Compression) -> io::Result<Vec<u8>> {
    let bytes = body.into_bytes()?;
    let mut encoder =
        GzEncoder::new(Vec::with_capacity(bytes.len() / 3), level);
    encoder.write_all(&bytes)?;
    encoder.finish()
}

// ANCHOR: gzip-stream
/// An inner body stream, gzipped as it goes.
struct GzipStream {
    inner: Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send>,
    /// `None` once finished (or failed): the stream has ended.
    encoder: Option<GzEncoder<Vec<u8>>>,
}

impl Iterator for GzipStream {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let encoder = self.encoder.as_mut()?;
            match self.inner.next() {
                Some(Ok(chunk)) => {
                    // A sync flush after each inner chunk: the app gave
                    // us these bytes now, so the client should be able
                    // to decode them now, not when the body ends. It
                    // costs a few bytes per flush; file and CGI chunks
                    // are 16-64 KiB, so that is noise.
                    let written = encoder
                        .write_all(&chunk)
                        .and_then(|()| encoder.flush());
                    if let Err(e) = written {
                        self.encoder = None;
                        return Some(Err(e));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Some(Ok(out));
                    }
                    // An empty inner chunk produced nothing: go on.
                }
                Some(Err(e)) => {
                    self.encoder = None;
                    return Some(Err(e));
                }
                None => {
                    // The end: the rest of the deflate stream, then the
                    // gzip trailer (CRC-32 and length).
                    let encoder = self.encoder.take()?;
                    return Some(encoder.finish());
                }
            }
        }
    }
}
// ANCHOR_END: gzip-stream

#[cfg(test)]
mod tests {
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
                vec![Ok(text(1000)), Err(io::Error::other("broken"))]
                    .into_iter(),
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
        for accept in [None, Some("identity"), Some("gzip;q=0"), Some("*;q=0")]
        {
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
                    || {
                        Body::stream(std::iter::once(
                            Ok(b"0123456789".to_vec()),
                        ))
                    },
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
                    &[
                        ("Content-Type", "text/html"),
                        ("Content-Encoding", "br"),
                    ],
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
                Box::new(Gzip::new(app("204 No Content", HTML, || {
                    Body::Empty
                }))),
                "GET",
            ),
            (
                "304",
                Box::new(Gzip::new(app("304 Not Modified", HTML, || {
                    Body::Empty
                }))),
                "GET",
            ),
            (
                "206",
                Box::new(Gzip::new(app("206 Partial Content", HTML, big))),
                "GET",
            ),
            (
                "HEAD",
                Box::new(Gzip::new(app("200 OK", HTML, big))),
                "HEAD",
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
        let app = Gzip::new(|_: &mut Environ<'_>, _: &mut StartResponse| {
            Body::from("x")
        });
        let (sr, _) = run(&app, "GET", Some("gzip"));
        assert_eq!(sr.calls(), 0);
    }

    #[test]
    fn the_static_site_gzips() {
        use crate::apps::static_files::StaticFiles;
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
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
}
