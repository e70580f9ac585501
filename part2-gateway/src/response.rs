//! Writing responses into a buffer: the head with the framing the server
//! chooses, the body encoded to match, and the error responses.
//!
//! (Skeleton: being written; the types are the contract.)

use crate::error::HttpError;
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

/// Writes the status line and header fields into `out`.
pub fn write_head(
    out: &mut Vec<u8>,
    request: &RequestFacts,
    status: u16,
    reason: &str,
    headers: &[(String, String)],
    body_len: Option<u64>,
) -> Plan {
    let _ = (out, request, status, reason, headers, body_len);
    Plan {
        framing: OutFraming::Close,
        keep_alive: false,
    }
}

/// Encodes body bytes for the framing a [`Plan`] chose.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    framing: OutFraming,
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
        }
    }

    /// Appends `chunk`, encoded, to `out`.
    pub fn write(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), LengthMismatch> {
        let _ = (chunk, out, self.framing);
        Ok(())
    }

    /// Ends the body (the last chunk for chunked).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), LengthMismatch> {
        let _ = out;
        Ok(())
    }
}

/// A complete error response with `Connection: close`.
pub fn write_error(out: &mut Vec<u8>, error: &HttpError) {
    let _ = (out, error);
}

/// The interim response a client waiting on `Expect: 100-continue` gets.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date() -> String {
    String::new()
}
