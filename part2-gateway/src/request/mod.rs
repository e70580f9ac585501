//! Phase one of the sans-I/O message layer: finding and parsing a request
//! head in a buffer of bytes. No sockets here: the caller feeds bytes and
//! gets back "incomplete", a head, or the error to answer with.
//!
//! The work is split in two. First a scan finds where the head ends (an
//! empty line, RFC 9112 §2.1) and enforces the size limits while bytes
//! trickle in; only then does `httparse` parse the complete head. After
//! that come the checks `httparse` leaves to us: the method, `Host`, the
//! framing of the body (RFC 9112 §6.3) and the connection's fate
//! ([`fields`]). A server that reads a head in many pieces keeps a
//! [`RequestParser`], which gives the same answers faster.

mod fields;
mod parser;

pub use parser::RequestParser;

use fields::{Facts, trim_ows};

use crate::error::HttpError;
use crate::rfc::is_tchar;

// ANCHOR: limits
/// Size limits on what a client may send, each with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target, version); longer → 414.
    pub max_request_line: usize,
    /// Largest head (request line plus all header fields); larger → 431.
    pub max_head: usize,
    /// Most header fields; more → 431.
    pub max_headers: usize,
    /// Largest request body after decoding; larger → 413.
    pub max_body: u64,
    /// The most of a body an event loop keeps in memory; past it the
    /// body goes to a temporary file (parts 3 and 4; part 2 streams it).
    pub body_in_memory: usize,
}
// ANCHOR_END: limits

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_head: 32 * 1024,
            max_headers: 100,
            max_body: 16 * 1024 * 1024,
            body_in_memory: 64 * 1024,
        }
    }
}

/// The HTTP versions this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// HTTP/1.0: closes after each response unless asked to keep alive.
    Http10,
    /// HTTP/1.1: keeps alive unless asked to close.
    #[default]
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the request body is delimited (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`.
    #[default]
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head.
///
/// The default is an empty head, for [`RequestParser::parse_into`] to
/// fill.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHead {
    /// The method, case-sensitive (`GET`, `POST` …).
    pub method: String,
    /// The request target as sent (`/path?query`).
    pub target: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// How the body is framed.
    pub framing: Framing,
    /// Whether the client wants the connection kept after this exchange.
    pub keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue`.
    pub expect_continue: bool,
}

impl RequestHead {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::gateway::header(&self.headers, name)
    }

    /// Whether this is a HEAD request (headers of a GET, no body).
    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// The methods this server knows (RFC 9110 §9.3). Anything else, even a
/// well-formed token like `get` (methods are case-sensitive) or `PURGE`,
/// gets 501: the server cannot know what it would mean.
///
/// `CONNECT` is deliberately absent: it asks for a tunnel, which only a
/// proxy provides, so it gets 501 too.
pub const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
];

// ANCHOR: parse-head-fn
/// Looks for a complete request head at the start of `buf`.
///
/// `Ok(None)`: incomplete, read more. `Ok(Some((head, n)))`: the head used
/// the first `n` bytes. `Err(e)`: answer `e.status` and close.
pub fn parse_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let Some((start, end)) = head_end(buf, limits)? else {
        return Ok(None);
    };
    // httparse writes the fields it finds into slots we lend it; one
    // more field than there are slots is a 431.
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let head = parse_complete(&buf[start..end], &mut slots)?;
    Ok(Some((head, end)))
}
// ANCHOR_END: parse-head-fn

// ANCHOR: find-end
/// Where the head in `buf` starts and ends (just past its empty line),
/// or `None` while it is incomplete. The limits apply to an incomplete
/// head too: a client must not make the server buffer more than they
/// allow.
fn head_end(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(usize, usize)>, HttpError> {
    // RFC 9112 §2.2: empty lines before the request line are skipped,
    // but they count toward the head's size.
    let start = skip_empty_lines(buf);
    if start > limits.max_head {
        return Err(HttpError::new(431, "head too large"));
    }
    let rest = &buf[start..];
    if matches!(rest, [] | [b'\r']) {
        return Ok(None);
    }
    // The request line is at least as long as what has arrived of it.
    let line_end = find_lf(rest, 0);
    let line = &rest[..line_end.unwrap_or(rest.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > limits.max_request_line {
        return Err(HttpError::new(414, "request line too long"));
    }
    let Some(mut from) = line_end else {
        return Ok(None);
    };
    // The head ends at the first empty line: an LF followed by LF or
    // CRLF (bare LF line ends are accepted, as httparse does).
    while let Some(lf) = find_lf(rest, from) {
        let end = match &rest[lf + 1..] {
            [b'\n', ..] => start + lf + 2,
            [b'\r', b'\n', ..] => start + lf + 3,
            _ => {
                from = lf + 1;
                continue;
            }
        };
        if end > limits.max_head {
            return Err(HttpError::new(431, "head too large"));
        }
        return Ok(Some((start, end)));
    }
    // The head will end at least one byte past what we hold.
    if buf.len() >= limits.max_head {
        return Err(HttpError::new(431, "head too large"));
    }
    Ok(None)
}
// ANCHOR_END: find-end

/// How many bytes of empty lines (LF or CRLF) `buf` starts with.
fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut start = 0;
    loop {
        match &buf[start..] {
            [b'\n', ..] => start += 1,
            [b'\r', b'\n', ..] => start += 2,
            _ => return start,
        }
    }
}

/// The index of the first LF in `buf` at or after `from`.
fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

// ANCHOR: parse-head
/// Parses a complete head: `httparse` splits it into its parts, then we
/// check what it leaves to us.
fn parse_complete<'b>(
    bytes: &'b [u8],
    slots: &mut [httparse::Header<'b>],
) -> Result<RequestHead, HttpError> {
    let mut req = httparse::Request::new(slots);
    if let Some(copy) = tokenize(&mut req, bytes)? {
        // HTTP/1.2 and up are read as 1.1 (RFC 9110 §2.5).
        let mut slots = vec![httparse::EMPTY_HEADER; slots.len()];
        return parse_complete(&copy, &mut slots);
    }
    let (method, target, version) = request_line(&req)?;
    let facts = Facts::gather(req.headers, version)?;
    let headers = req
        .headers
        .iter()
        .map(|field| {
            let value = String::from_utf8_lossy(trim_ows(field.value));
            (field.name.to_string(), value.into_owned())
        })
        .collect();
    Ok(RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        version,
        headers,
        framing: facts.framing(version)?,
        keep_alive: facts.keep_alive(version),
        expect_continue: facts.expect_continue,
    })
}
// ANCHOR_END: parse-head

// ANCHOR: request-line
/// The request line's method, target and version, each checked.
fn request_line<'b>(
    req: &httparse::Request<'_, 'b>,
) -> Result<(&'b str, &'b str, Version), HttpError> {
    let (Some(method), Some(target), Some(minor)) =
        (req.method, req.path, req.version)
    else {
        return Err(HttpError::new(400, "malformed request line"));
    };
    // httparse has already refused any version but 1.0 and 1.1.
    let version = match minor {
        0 => Version::Http10,
        _ => Version::Http11,
    };
    if method == "CONNECT" {
        return Err(HttpError::new(501, "CONNECT: not a proxy"));
    }
    if !KNOWN_METHODS.contains(&method) {
        return Err(HttpError::new(501, "unknown method"));
    }
    check_target(method, target)?;
    Ok((method, target, version))
}
// ANCHOR_END: request-line

// ANCHOR: httparse-error
/// Runs `httparse` over a complete head. `Ok(None)`: `req` holds its
/// parts. `Ok(Some(copy))`: a newer 1.x that `httparse` refused, to
/// parse again as `copy`, which says 1.1. `Err`: the status to answer.
fn tokenize<'b>(
    req: &mut httparse::Request<'_, 'b>,
    bytes: &'b [u8],
) -> Result<Option<Vec<u8>>, HttpError> {
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) if n == bytes.len() => Ok(None),
        Ok(_) => Err(HttpError::new(400, "malformed head")),
        Err(e) => match as_http11(e, bytes) {
            Some(copy) => Ok(Some(copy)),
            None => Err(httparse_error(e, bytes)),
        },
    }
}

/// The status and detail for what `httparse` refused.
fn httparse_error(e: httparse::Error, head: &[u8]) -> HttpError {
    use httparse::Error as E;
    match e {
        E::TooManyHeaders => HttpError::new(431, "too many header fields"),
        // A well-formed request line in a version we do not speak is a
        // 505 (RFC 9110 §15.6.6); anything else is just malformed.
        E::Version if looks_like_request_line(head) => {
            HttpError::new(505, "this server speaks HTTP/1.0 and HTTP/1.1")
        }
        E::Version => HttpError::new(400, "malformed request line"),
        // httparse refuses whitespace before the colon and obs-fold
        // (RFC 9112 §5.1, §5.2) here: a name cannot start with SP.
        E::HeaderName => HttpError::new(400, "malformed header name"),
        // NUL, a bare CR and other controls in a value (RFC 9110 §5.5).
        E::HeaderValue => HttpError::new(400, "malformed header value"),
        E::NewLine => HttpError::new(400, "malformed line ending"),
        E::Token => HttpError::new(400, "malformed request line"),
        _ => HttpError::new(400, "malformed head"),
    }
}
// ANCHOR_END: httparse-error

/// For a request line in `HTTP/1.x` with x above 1, which `httparse`
/// refuses, a copy of `head` that says `HTTP/1.1`: a server SHOULD
/// answer a newer minor version as the highest it knows (RFC 9110 §2.5,
/// §6.2). `None` for any other error.
fn as_http11(e: httparse::Error, head: &[u8]) -> Option<Vec<u8>> {
    let line = &head[..find_lf(head, 0)?];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let newer = e == httparse::Error::Version
        && matches!(line, [.., b'/', b'1', b'.', b'2'..=b'9'])
        && looks_like_request_line(head);
    if !newer {
        return None;
    }
    let mut copy = head.to_vec();
    copy[line.len() - 1] = b'1';
    Some(copy)
}

/// Whether the first line is `method SP target SP HTTP/d.d`, whatever
/// the digits.
fn looks_like_request_line(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let version_ok = matches!(
        version,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit()
    );
    !method.is_empty()
        && method.iter().all(|&b| is_tchar(b))
        && !target.is_empty()
        && target.iter().all(|&b| b > b' ' && b != 0x7f)
        && version_ok
}

/// The request-target forms a server accepts (RFC 9112 §3.2): origin-form
/// `/path?query`, absolute-form `http://host/path` (sent to proxies, but
/// servers MUST accept it), and asterisk-form `*` for `OPTIONS` only.
/// authority-form belongs to CONNECT, refused earlier. httparse already
/// refused whitespace and controls; a fragment never belongs in a target.
fn valid_target(method: &str, target: &str) -> bool {
    if target.contains('#') {
        return false;
    }
    if target.starts_with('/') {
        return true;
    }
    if target == "*" {
        return method == "OPTIONS";
    }
    // absolute-form: scheme "://" …, scheme = ALPHA *(ALPHA / DIGIT /
    // "+" / "-" / "."). An http URI needs a host (RFC 9110 §4.2.1) and
    // no userinfo (§4.2.4), which valid_host refuses with its `@`.
    match target.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
                })
                && (!scheme.eq_ignore_ascii_case("http")
                    || !authority.is_empty()
                        && fields::valid_host(authority.as_bytes()))
        }
        None => false,
    }
}

/// 400 for a target of no valid form; 421 for an absolute-form one that
/// is not `http`: plain TCP answers for http URIs only, and an https URI
/// (or any other scheme) asks for a server this is not (RFC 9110 §7.4).
fn check_target(method: &str, target: &str) -> Result<(), HttpError> {
    if !valid_target(method, target) {
        return Err(HttpError::new(400, "invalid request target"));
    }
    let scheme = match target.split_once("://") {
        Some((scheme, _)) if !target.starts_with('/') => scheme,
        _ => return Ok(()),
    };
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(HttpError::new(421, "only http URIs are served here"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
