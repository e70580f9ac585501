//! Writing responses into a buffer: the head with the framing the server
//! chooses, the body encoded to match, and the error responses.
//!
//! Responses are always `HTTP/1.1` on the status line, whatever the
//! request's version (RFC 9110 §6.2: the version is the sender's
//! capability); what a 1.0 client cannot parse, chunked coding, it never
//! gets.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::chunked::{LAST_CHUNK, encode_chunk};
use crate::environ::SERVER_SOFTWARE;
use crate::error::{HttpError, reason};
use crate::request::{RequestHead, Version};

/// What the server must know about the request to frame its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    /// The request's version.
    pub version: Version,
    /// HEAD: send the headers of a GET, no body.
    pub head_method: bool,
    /// Whether the client wants the connection kept.
    pub keep_alive: bool,
}

impl RequestFacts {
    /// The facts of a parsed head.
    pub fn of(head: &RequestHead) -> Self {
        RequestFacts {
            version: head.version,
            head_method: head.is_head(),
            keep_alive: head.keep_alive,
        }
    }
}

/// How the response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFraming {
    /// No body bytes at all (HEAD, 1xx, 204, 304).
    NoBody,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1, length unknown).
    Chunked,
    /// The body ends when the server closes (HTTP/1.0, length unknown).
    Close,
}

/// What [`write_head`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// How the body is framed.
    pub framing: OutFraming,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
}

// ANCHOR: write-head
/// Writes the status line and header fields into `out`.
///
/// `headers` are the app's, already stripped of the ones the server owns;
/// any whose name is not a token or whose value holds CR, LF or NUL is
/// dropped (header injection). `body_len` is the body's length if known.
pub fn write_head(
    out: &mut Vec<u8>,
    request: &RequestFacts,
    status: u16,
    reason: &str,
    headers: &[(String, String)],
    body_len: Option<u64>,
) -> Plan {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_status(out, status);
    out.push(b' ');
    if is_field_value(reason) {
        out.extend_from_slice(reason.as_bytes());
    } else {
        out.extend_from_slice(crate::error::reason(status).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        // Framing is ours alone: a second Content-Length or a
        // Transfer-Encoding from the app would desync the client.
        if !is_token(name)
            || !is_field_value(value)
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        push_field(out, name, value);
    }
    out.extend_from_slice(b"Date: ");
    push_http_date(out);
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(SERVER_SOFTWARE.as_bytes());
    out.extend_from_slice(b"\r\n");
    let framing = choose_framing(request, status, body_len);
    match framing {
        OutFraming::Length(n) => push_content_length(out, n),
        // HEAD: the headers a GET would get, length included if known
        // (RFC 9110 §9.3.2), but no body.
        OutFraming::NoBody if request.head_method && !no_body(status) => {
            if let Some(n) = body_len {
                push_content_length(out, n);
            }
        }
        OutFraming::Chunked => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        OutFraming::NoBody | OutFraming::Close => {}
    }
    // A body ended by closing leaves nothing to keep alive.
    let keep_alive = request.keep_alive && framing != OutFraming::Close;
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if request.version == Version::Http10 {
        // A 1.0 client assumes close unless told otherwise.
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Plan {
        framing,
        keep_alive,
    }
}
// ANCHOR_END: write-head

// ANCHOR: choose-framing
/// Statuses that never have content (RFC 9110 §6.4.1): 1xx, 204, 304.
fn no_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// The framing of a response (RFC 9112 §6.3, from the sender's side).
fn choose_framing(
    request: &RequestFacts,
    status: u16,
    body_len: Option<u64>,
) -> OutFraming {
    if no_body(status) || request.head_method {
        return OutFraming::NoBody;
    }
    match (body_len, request.version) {
        (Some(n), _) => OutFraming::Length(n),
        // Unknown length: chunks for a 1.1 client; a 1.0 client knows no
        // chunked coding, so the end of the body is the end of the
        // connection (RFC 9112 §6.3 rule 8).
        (None, Version::Http11) => OutFraming::Chunked,
        (None, Version::Http10) => OutFraming::Close,
    }
}
// ANCHOR_END: choose-framing

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_content_length(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    push_u64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Three digits for a status; anything out of range becomes 500 rather
/// than a malformed status line.
fn push_status(out: &mut Vec<u8>, status: u16) {
    let status = if (100..1000).contains(&status) {
        status
    } else {
        500
    };
    push_u64(out, u64::from(status));
}

/// Decimal digits without going through `fmt` (this is per response).
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// RFC 9110 §5.6.2: a field name is a non-empty token.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// No CR, LF or NUL: they would end the field early and let whoever
/// controls the value write headers of their own (response splitting).
/// No other control either: a value is visible characters, spaces and
/// tabs (RFC 9110 §5.5), and a terminal shows escapes.
fn is_field_value(value: &str) -> bool {
    !value.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f)
}

/// Encodes body bytes for the framing a [`Plan`] chose.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    framing: OutFraming,
    /// Body bytes written so far (before transfer coding).
    written: u64,
    finished: bool,
}

/// The app's body did not match the length it declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthMismatch {
    /// The declared `Content-Length`.
    pub declared: u64,
    /// Bytes the app produced (so far, when too long).
    pub produced: u64,
}

impl BodyEncoder {
    /// An encoder for `plan.framing`.
    pub fn new(plan: &Plan) -> Self {
        BodyEncoder {
            framing: plan.framing,
            written: 0,
            finished: false,
        }
    }

    /// Appends `chunk`, encoded, to `out`.
    ///
    /// With a `Content-Length`, bytes past it are never written: the
    /// client would read them as the next response. The error says so.
    pub fn write(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), LengthMismatch> {
        match self.framing {
            OutFraming::NoBody => {}
            OutFraming::Length(declared) => {
                let left = declared - self.written;
                let fits = usize::try_from(left)
                    .map_or(chunk.len(), |l| l.min(chunk.len()));
                out.extend_from_slice(&chunk[..fits]);
                self.written += fits as u64;
                if fits < chunk.len() {
                    return Err(LengthMismatch {
                        declared,
                        produced: self.written + (chunk.len() - fits) as u64,
                    });
                }
            }
            OutFraming::Chunked => {
                // Empty chunks are skipped inside: `0` would end the body.
                encode_chunk(chunk, out);
                self.written += chunk.len() as u64;
            }
            OutFraming::Close => {
                out.extend_from_slice(chunk);
                self.written += chunk.len() as u64;
            }
        }
        Ok(())
    }

    /// Ends the body (the last chunk for chunked). Only the first call
    /// writes anything.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), LengthMismatch> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        match self.framing {
            OutFraming::Chunked => out.extend_from_slice(LAST_CHUNK),
            OutFraming::Length(declared) if self.written < declared => {
                return Err(LengthMismatch {
                    declared,
                    produced: self.written,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// A complete error response with `Connection: close`.
///
/// The body is one line of plain text, `"{status} {reason}: {detail}"`.
pub fn write_error(out: &mut Vec<u8>, error: &HttpError) {
    let body = format!("{error}\n");
    out.extend_from_slice(b"HTTP/1.1 ");
    push_status(out, error.status);
    out.push(b' ');
    out.extend_from_slice(reason(error.status).as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    push_http_date(out);
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(SERVER_SOFTWARE.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain; charset=utf-8\r\n");
    push_content_length(out, body.len() as u64);
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// The interim response a client waiting on `Expect: 100-continue` gets.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date() -> String {
    let mut out = Vec::with_capacity(29);
    push_http_date(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

// ANCHOR: date-cache
thread_local! {
    /// The formatted date and the second it is for. Every response needs
    /// a Date (RFC 9110 §6.6.1) and formatting one costs far more than
    /// the clock read: once a second per thread is enough.
    static DATE: RefCell<(u64, String)> = const {
        RefCell::new((u64::MAX, String::new()))
    };
}

/// Appends the current IMF-fixdate to `out`, from the per-second cache.
pub fn push_http_date(out: &mut Vec<u8>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(second, text)| {
        if *second != now {
            *second = now;
            *text = format_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}
// ANCHOR_END: date-cache

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110
/// §5.6.7), always in GMT.
pub fn format_http_date(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        None => "Thu, 01 Jan 1970 00:00:00 GMT".to_string(),
    }
}

#[cfg(test)]
mod tests {
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
            [&b"5\r\nhello\r\n10\r\n"[..], &[b'x'; 16], b"\r\n0\r\n\r\n"]
                .concat();
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
        assert!(text.starts_with(
            "HTTP/1.1 431 Request Header Fields Too Large\r\nDate: "
        ));
        assert!(
            text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n")
        );
        assert!(
            text.contains(&format!("\r\nContent-Length: {}\r\n", body.len()))
        );
        assert!(text.contains("\r\nConnection: close\r\n\r\n"));
        assert!(text.ends_with(&format!("\r\n\r\n{body}")));
    }

    #[test]
    fn dates() {
        assert_eq!(
            format_http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        let now = http_date();
        assert_eq!(now.len(), 29);
        assert!(now.ends_with(" GMT"));
        let parsed =
            chrono::DateTime::parse_from_rfc2822(&now.replace("GMT", "+0000"));
        assert!(parsed.is_ok(), "{now}");
    }
}
