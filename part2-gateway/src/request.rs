//! Phase one of the sans-I/O message layer: finding and parsing a request
//! head in a buffer of bytes. No sockets here: the caller feeds bytes and
//! gets back "incomplete", a head, or the error to answer with.
//!
//! The work is split in two. First a cheap scan finds where the head
//! ends (an empty line, RFC 9112 §2.1) and enforces the size limits while
//! bytes trickle in; only then does `httparse` parse the complete head,
//! once. After that come the checks `httparse` leaves to us: the method,
//! `Host`, the framing of the body (RFC 9112 §6.3) and the connection's
//! fate.

use crate::error::HttpError;

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
}
// ANCHOR_END: limits

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_head: 32 * 1024,
            max_headers: 100,
            max_body: 16 * 1024 * 1024,
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

/// Header slots kept on the stack for `httparse`; a larger
/// [`Limits::max_headers`] falls back to a heap array.
const STACK_HEADERS: usize = 128;

/// Looks for a complete request head at the start of `buf`.
///
/// `Ok(None)`: incomplete, read more. `Ok(Some((head, n)))`: the head used
/// the first `n` bytes. `Err(e)`: answer `e.status` and close.
///
/// This scans `buf` from its start on every call; a server that calls it
/// again after each read should keep a [`RequestParser`] instead, which
/// remembers how far it has looked. Both give the same answers.
pub fn parse_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    RequestParser::new().parse(buf, limits)
}

/// An incremental [`parse_head`]: it remembers how far it has scanned,
/// so bytes arriving one read at a time are looked at once, not once per
/// read.
///
/// Feed it the same buffer, only ever growing at its end, until it
/// returns `Ok(Some(..))` or an error; it then starts afresh, ready for
/// the next request once the caller has removed the head's bytes.
#[derive(Debug, Clone, Default)]
pub struct RequestParser {
    /// Bytes of empty lines skipped before the request line.
    start: usize,
    /// Where the request line's LF is, once seen.
    line_end: Option<usize>,
    /// Everything before this index is known to hold no end of head.
    scanned: usize,
}

impl RequestParser {
    /// A parser at the start of a request.
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Like [`parse_head`], resuming the scan where the last call ended.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(RequestHead, usize)>, HttpError> {
        let mut head = RequestHead::default();
        let used = self.parse_into(buf, limits, &mut head)?;
        Ok(used.map(|n| (head, n)))
    }

    /// Like [`parse`](RequestParser::parse), but fills `head` in place:
    /// `Ok(Some(n))` means `head` now holds the request, which used the
    /// first `n` bytes. `head` keeps its allocations (its strings, its
    /// list of headers), so a server that reuses heads saves the half
    /// dozen allocations a new one costs. (hyper does the same with the
    /// header map of a connection's previous request.) On `Ok(None)`
    /// `head` is untouched; after an error its contents mean nothing.
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        head: &mut RequestHead,
    ) -> Result<Option<usize>, HttpError> {
        let result = match self.find_end(buf, limits) {
            Ok(Some(end)) => {
                parse_complete(&buf[self.start..end], limits, head)
                    .map(|()| Some(end))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        if !matches!(result, Ok(None)) {
            *self = RequestParser::default();
        }
        result
    }

    // ANCHOR: find-end
    /// Finds where the head ends (just past its empty line), enforcing
    /// the limits on the way, even while the head is incomplete: a client
    /// must not make the server buffer more than the limits allow.
    ///
    /// The checks run in the same order whether the bytes come at once
    /// or one by one, so the answer never depends on how they were split.
    fn find_end(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<usize>, HttpError> {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line
        // before the request line (some clients send a CRLF after a
        // body). They count toward the head's size, or a client could
        // send blank lines forever.
        if self.line_end.is_none() {
            loop {
                match &buf[self.start..] {
                    [b'\n', ..] => self.start += 1,
                    [b'\r', b'\n', ..] => self.start += 2,
                    _ => break,
                }
            }
            if self.start > limits.max_head {
                return Err(HttpError::new(431, "head too large"));
            }
            if matches!(&buf[self.start..], [] | [b'\r']) {
                return Ok(None);
            }
            self.scanned = self.scanned.max(self.start);
            let Some(lf) = find_lf(buf, self.scanned) else {
                self.scanned = buf.len();
                // The line is at least this long; a CR at the very end
                // may yet be the line's CRLF.
                let mut len = buf.len() - self.start;
                if buf.last() == Some(&b'\r') {
                    len -= 1;
                }
                if len > limits.max_request_line {
                    return Err(HttpError::new(414, "request line too long"));
                }
                return Ok(None);
            };
            let mut len = lf - self.start;
            if lf > self.start && buf[lf - 1] == b'\r' {
                len -= 1;
            }
            if len > limits.max_request_line {
                return Err(HttpError::new(414, "request line too long"));
            }
            self.line_end = Some(lf);
            self.scanned = lf;
        }
        // The head ends at the first empty line: an LF followed by LF or
        // CRLF (bare LF line ends are accepted, as httparse does).
        while let Some(lf) = find_lf(buf, self.scanned) {
            match &buf[lf + 1..] {
                [b'\n', ..] => return self.check_size(lf + 2, limits),
                [b'\r', b'\n', ..] => return self.check_size(lf + 3, limits),
                [] | [b'\r'] => {
                    // Maybe the end, once the next byte comes.
                    self.scanned = lf;
                    return self.incomplete(buf, limits);
                }
                _ => self.scanned = lf + 1,
            }
        }
        self.scanned = buf.len();
        self.incomplete(buf, limits)
    }
    // ANCHOR_END: find-end

    fn check_size(
        &self,
        end: usize,
        limits: &Limits,
    ) -> Result<Option<usize>, HttpError> {
        if end > limits.max_head {
            return Err(HttpError::new(431, "head too large"));
        }
        Ok(Some(end))
    }

    fn incomplete(
        &self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<usize>, HttpError> {
        // The head will end at least one byte past what we hold.
        if buf.len() >= limits.max_head {
            return Err(HttpError::new(431, "head too large"));
        }
        Ok(None)
    }
}

/// The index of the first LF in `buf` at or after `from`.
fn find_lf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

/// Parses a complete head (empty lines before it already skipped).
fn parse_complete(
    bytes: &[u8],
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<(), HttpError> {
    let n = limits.max_headers;
    if n <= STACK_HEADERS {
        let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
        parse_with(bytes, &mut headers[..n], head)
    } else {
        let mut headers = vec![httparse::EMPTY_HEADER; n];
        parse_with(bytes, &mut headers, head)
    }
}

// ANCHOR: parse-head
fn parse_with<'b>(
    bytes: &'b [u8],
    slots: &mut [httparse::Header<'b>],
    head: &mut RequestHead,
) -> Result<(), HttpError> {
    let mut req = httparse::Request::new(slots);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) if n == bytes.len() => {}
        Ok(_) => return Err(HttpError::new(400, "malformed head")),
        Err(e) => return Err(httparse_error(e, bytes)),
    }
    let (Some(method), Some(target), Some(minor)) =
        (req.method, req.path, req.version)
    else {
        return Err(HttpError::new(400, "malformed request line"));
    };
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
    let mut facts = Facts::default();
    // The head is filled in place: a string that already has room keeps
    // it, so a reused head costs no allocation for a request like the
    // last one.
    head.headers.truncate(req.headers.len());
    for (i, h) in req.headers.iter().enumerate() {
        let value = trim_ows(h.value);
        facts.note(h.name, value, version)?;
        let value = String::from_utf8_lossy(value);
        match head.headers.get_mut(i) {
            Some((old_name, old_value)) => {
                replace(old_name, h.name);
                replace(old_value, &value);
            }
            None => head.headers.push((h.name.to_owned(), value.into_owned())),
        }
    }
    // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request
    // without Host, and to any request with more than one.
    if facts.hosts > 1 {
        return Err(HttpError::new(400, "more than one Host"));
    }
    if facts.hosts == 0 && version == Version::Http11 {
        return Err(HttpError::new(400, "missing Host"));
    }
    head.framing = facts.framing(version)?;
    head.keep_alive = facts.keep_alive(version);
    head.expect_continue = facts.expect_continue;
    head.version = version;
    replace(&mut head.method, method);
    replace(&mut head.target, target);
    Ok(())
}
// ANCHOR_END: parse-head

/// Makes `old` hold `new`, in the room it has if that is enough.
fn replace(old: &mut String, new: &str) {
    old.clear();
    old.push_str(new);
}

// ANCHOR: httparse-error
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

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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
                        && valid_host(authority.as_bytes()))
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

/// RFC 9112 §3.2: `Host = uri-host [ ":" port ]` (RFC 3986 §3.2.2): an
/// IP literal in brackets or a registered name, then digits. Empty is
/// allowed (a URI without authority). A comma is refused although a
/// name may hold one: here it means a list, which Host must not be.
fn valid_host(value: &[u8]) -> bool {
    let (host, port) = match value {
        [b'[', ..] => match value.iter().position(|&b| b == b']') {
            Some(end) => (&value[..=end], &value[end + 1..]),
            None => return false,
        },
        _ => match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &b""[..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    let name_char =
        |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+;=%".contains(b);
    let host_ok = match host {
        [b'[', inside @ .., b']'] => {
            !inside.is_empty()
                && inside.iter().all(|b| name_char(b) || *b == b':')
        }
        name => {
            name.iter().all(name_char)
                && name.iter().enumerate().all(|(i, &b)| {
                    b != b'%'
                        || name.get(i + 1..i + 3).is_some_and(|hex| {
                            hex.iter().all(u8::is_ascii_hexdigit)
                        })
                })
        }
    };
    host_ok && port_ok
}

/// Strips optional whitespace (SP, HTAB) from both ends (RFC 9110 §5.6.3).
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The elements of a comma-separated list field (RFC 9110 §5.6.1),
/// trimmed; empty elements are kept for the caller to judge.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// What the header fields say about the message, gathered in one pass.
#[derive(Debug, Default)]
struct Facts {
    hosts: usize,
    content_length: Option<u64>,
    /// Whether a Transfer-Encoding field was present at all.
    te_present: bool,
    /// Transfer codings seen, and whether the last was `chunked`.
    te_last_chunked: bool,
    te_chunked: usize,
    te_other: bool,
    close: bool,
    keep_alive_token: bool,
    expect_continue: bool,
}

impl Facts {
    fn note(
        &mut self,
        name: &str,
        value: &[u8],
        version: Version,
    ) -> Result<(), HttpError> {
        if name.eq_ignore_ascii_case("host") {
            self.hosts += 1;
            if !valid_host(value) {
                return Err(HttpError::new(400, "invalid Host"));
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            self.note_content_length(value)?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            self.te_present = true;
            for coding in list(value).filter(|c| !c.is_empty()) {
                let chunked = coding.eq_ignore_ascii_case(b"chunked");
                self.te_last_chunked = chunked;
                if chunked {
                    self.te_chunked += 1;
                } else {
                    self.te_other = true;
                }
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive_token = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect")
            && version == Version::Http11
        {
            // RFC 9110 §10.1.1: 100-continue is the only expectation
            // defined; a server MAY answer 417 to any other, which we do
            // so the client does not wait for something that won't come.
            // An HTTP/1.0 server would not know Expect: it is ignored.
            for exp in list(value).filter(|e| !e.is_empty()) {
                if exp.eq_ignore_ascii_case(b"100-continue") {
                    self.expect_continue = true;
                } else {
                    return Err(HttpError::new(417, "unsupported Expect"));
                }
            }
        }
        Ok(())
    }

    /// RFC 9112 §6.3 rule 5: a list, or several fields, must agree on one
    /// value, else the framing is unknowable and the answer is 400.
    fn note_content_length(&mut self, value: &[u8]) -> Result<(), HttpError> {
        for element in list(value) {
            if element.is_empty() {
                return Err(HttpError::new(400, "empty Content-Length"));
            }
            let mut n: u64 = 0;
            for &b in element {
                // Only digits: `+5`, `-5`, `5 5` and `0x5` are all refused
                // (str::parse would take `+5`).
                if !b.is_ascii_digit() {
                    return Err(HttpError::new(400, "invalid Content-Length"));
                }
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(b - b'0')))
                    .ok_or(HttpError::new(400, "Content-Length overflows"))?;
            }
            match self.content_length {
                Some(seen) if seen != n => {
                    return Err(HttpError::new(
                        400,
                        "conflicting Content-Length",
                    ));
                }
                _ => self.content_length = Some(n),
            }
        }
        Ok(())
    }

    // ANCHOR: framing
    /// How the body is delimited, RFC 9112 §6.3.
    fn framing(&self, version: Version) -> Result<Framing, HttpError> {
        if !self.te_present {
            return Ok(match self.content_length {
                Some(n) => Framing::Length(n),
                // A request with neither has no body (§6.3 rule 7).
                None => Framing::None,
            });
        }
        // Both: the classic request-smuggling setup, where two servers
        // in a chain disagree on where the body ends. §6.3 rule 3 lets a
        // server process it as chunked; refusing is safer.
        if self.content_length.is_some() {
            return Err(HttpError::new(
                400,
                "both Transfer-Encoding and Content-Length",
            ));
        }
        // §6.1: HTTP/1.0 had no transfer codings; such framing is faulty.
        if version == Version::Http10 {
            return Err(HttpError::new(400, "Transfer-Encoding in HTTP/1.0"));
        }
        // §6.3 rule 4: chunked not last (or absent) leaves the length
        // unknowable: 400. §7: chunked MUST NOT be applied twice.
        if !self.te_last_chunked || self.te_chunked > 1 {
            return Err(HttpError::new(400, "chunked is not the final coding"));
        }
        // gzip, deflate…: a real server might decode them; we do not
        // (RFC 9112 §6.1: 501 for a coding not understood).
        if self.te_other {
            return Err(HttpError::new(501, "unsupported transfer coding"));
        }
        Ok(Framing::Chunked)
    }
    // ANCHOR_END: framing

    // ANCHOR: keep-alive
    /// RFC 9112 §9.3: HTTP/1.1 persists unless told `close`; HTTP/1.0
    /// persists only when asked with `keep-alive` (RFC 7230 §A.1.2).
    fn keep_alive(&self, version: Version) -> bool {
        match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive_token && !self.close,
        }
    }
    // ANCHOR_END: keep-alive
}

#[cfg(test)]
mod tests {
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
        let head =
            ok(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n");
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
        let buf = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
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
        for v in ["HTTP/2.0", "HTTP/1.2", "HTTP/3.0", "HTTP/0.9"] {
            let req = format!("GET / {v}\r\nHost: x\r\n\r\n");
            assert_eq!(status(req.as_bytes()), 505, "{v}");
        }
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
        }
    }

    #[test]
    fn request_line_limit_414() {
        let long =
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(40));
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
        assert_eq!(
            bytewise(long.as_bytes(), &small()).unwrap_err().status,
            414
        );
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
        let old = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
        assert!(!ok(old).expect_continue);
        let other = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n";
        assert_eq!(status(other), 417);
    }

    #[test]
    fn obs_text_values_are_lossy() {
        let head = ok(b"GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9\r\n\r\n");
        assert_eq!(head.header("x"), Some("caf\u{fffd}"));
    }
}
