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
/// A HEAD gets the headers its GET would get. Left alone: responses
/// without a body (1xx, 204, 304), partial content (206), responses that
/// already have a `Content-Encoding` or say `Cache-Control:
/// no-transform`, types that are already compressed (images, audio,
/// video, archives) or unknown, and bodies known to be shorter than the
/// minimum size.
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
        let if_none_match =
            environ.get("HTTP_IF_NONE_MATCH").map(str::to_owned);
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
            if code == 304 {
                weaken_as_sent(&mut headers, if_none_match.as_deref());
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
            // HEAD gets the fields its GET would (RFC 9110 §9.3.2): gzip,
            // a weak tag, and no length, unknown until the GET's end.
            recode_headers(&mut headers);
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
    for value in strong_etags(headers) {
        *value = format!("W/{value}");
    }
}

/// The values of the `ETag` fields that are strong (not `W/`).
fn strong_etags(headers: &mut Headers) -> impl Iterator<Item = &mut String> {
    headers
        .iter_mut()
        .filter(|(name, value)| {
            name.eq_ignore_ascii_case("ETag") && !value.starts_with("W/")
        })
        .map(|(_, value)| value)
}

/// A 304 must carry the tag its 200 would have (RFC 9110 §15.4.5). The
/// inner app matched the client's tag weakly; if the client holds our
/// weak `W/"x"` for the inner app's strong `"x"`, its copy was gzipped,
/// and the 304 says `W/"x"` too.
fn weaken_as_sent(headers: &mut Headers, if_none_match: Option<&str>) {
    let Some(held) = if_none_match else { return };
    for value in strong_etags(headers) {
        let weak = format!("W/{value}");
        if held.split(',').any(|tag| tag.trim() == weak) {
            *value = weak;
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
                    // Flush after each inner chunk, so the client can
                    // decode what the app has produced so far.
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
mod tests;
