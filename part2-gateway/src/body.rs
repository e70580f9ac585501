//! Phase two: the request body, delimited as the head said.
//!
//! (Skeleton: the decoder is being written; the types are the contract.)

use crate::error::HttpError;
use crate::request::Framing;

/// Decodes a request body from the bytes after the head.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    framing: Framing,
    max_body: u64,
}

impl BodyDecoder {
    /// A decoder for `framing`; a `Content-Length` over `max_body` is
    /// refused at once with 413.
    pub fn new(framing: Framing, max_body: u64) -> Result<Self, HttpError> {
        Ok(BodyDecoder { framing, max_body })
    }

    /// Decodes what it can from `input`, appending body bytes to `out`.
    /// Returns how many bytes of `input` it used; the rest belongs to
    /// the next request (pipelining) or has not arrived yet.
    pub fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, HttpError> {
        let _ = (input, out, self.framing, self.max_body);
        Err(HttpError::new(501, "decoder not written yet"))
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        matches!(self.framing, Framing::None)
    }
}
