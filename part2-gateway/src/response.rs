//! Writing responses into a buffer: the head with the framing the server
//! chooses, the body encoded to match, and the error responses.
//!
//! Responses are always `HTTP/1.1` on the status line, whatever the
//! request's version (RFC 9110 §6.2: the version is the sender's
//! capability); what a 1.0 client cannot parse, chunked coding, it never
//! gets.

use crate::chunked::{LAST_CHUNK, encode_chunk};
use crate::environ::SERVER_SOFTWARE;
use crate::error::{HttpError, reason};
use crate::request::{RequestHead, Version};
use crate::rfc::{is_token, push_date_now, push_u64};

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
    push_status_line(out, status, reason);
    for (name, value) in headers {
        // Framing is ours alone: a second Content-Length or a
        // Transfer-Encoding from the app would desync the client.
        if !is_token(name.as_bytes())
            || !is_field_value(value)
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        }
        push_field(out, name, value);
    }
    out.extend_from_slice(b"Date: ");
    push_date_now(out);
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

/// `HTTP/1.1 404 Not Found` and its line end. A reason that could break
/// the line is replaced by the standard one.
fn push_status_line(out: &mut Vec<u8>, status: u16, reason: &str) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_status(out, status);
    out.push(b' ');
    if is_field_value(reason) {
        out.extend_from_slice(reason.as_bytes());
    } else {
        out.extend_from_slice(crate::error::reason(status).as_bytes());
    }
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
    push_date_now(out);
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(SERVER_SOFTWARE.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: text/plain; charset=utf-8\r\n");
    push_content_length(out, body.len() as u64);
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
}

/// The interim response a client waiting on `Expect: 100-continue` gets.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[cfg(test)]
mod tests;
