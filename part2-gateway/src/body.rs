//! Phase two: the request body, delimited as the head said.
//!
//! Like the head parser, the decoder is sans-I/O: it is handed whatever
//! bytes arrived, takes what belongs to the body and says how many it
//! took, so the rest (a pipelined request) stays with the caller.

use std::time::Duration;

use crate::chunked::ChunkedDecoder;
use crate::error::HttpError;
use crate::request::{Framing, Limits};

/// Where a body decoder is.
#[derive(Debug, Clone)]
enum Inner {
    /// No body at all.
    None,
    /// `Content-Length`: this many bytes still to come.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkedDecoder),
}

/// Decodes a request body from the bytes after the head.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    inner: Inner,
}

impl BodyDecoder {
    /// A decoder for `framing`, bounded by `limits.max_body` (413) and,
    /// for the trailer fields of a chunked body, `limits.max_head` (431).
    /// A `Content-Length` over the body limit is refused at once.
    pub fn with_limits(
        framing: Framing,
        limits: &Limits,
    ) -> Result<Self, HttpError> {
        Self::build(framing, limits.max_body, limits.max_head)
    }

    fn build(
        framing: Framing,
        max_body: u64,
        max_trailer: usize,
    ) -> Result<Self, HttpError> {
        let inner = match framing {
            Framing::None => Inner::None,
            // Known in advance: refuse before reading a byte of it, so a
            // client waiting on 100-continue gets its answer at once.
            Framing::Length(n) if n > max_body => {
                return Err(HttpError::new(413, "body too large"));
            }
            Framing::Length(n) => Inner::Length(n),
            Framing::Chunked => {
                Inner::Chunked(ChunkedDecoder::new(max_body, max_trailer))
            }
        };
        Ok(BodyDecoder { inner })
    }

    /// Decodes what it can from `input`, appending body bytes to `out`.
    /// Returns how many bytes of `input` it used; the rest belongs to
    /// the next request (pipelining) or has not arrived yet.
    pub fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, HttpError> {
        match &mut self.inner {
            Inner::None => Ok(0),
            Inner::Length(left) => {
                let take = usize::try_from(*left)
                    .map_or(input.len(), |l| l.min(input.len()));
                out.extend_from_slice(&input[..take]);
                *left -= take as u64;
                Ok(take)
            }
            Inner::Chunked(chunked) => chunked.decode(input, out),
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        match &self.inner {
            Inner::None => true,
            Inner::Length(left) => *left == 0,
            Inner::Chunked(chunked) => chunked.is_done(),
        }
    }
}

// ANCHOR: body-timeout
/// How a request body is timed once its head is in: by its progress,
/// not by one deadline for the whole. An upload that keeps arriving is
/// never cut off, however long it is; one that stalls or trickles is.
///
/// Each byte that arrives buys the client `1 / min_rate` seconds more
/// (Apache's `mod_reqtimeout`, `MinRate`), but it never has more than
/// `stall` in hand (nginx's `client_body_timeout`, the longest gap
/// between two reads): a fast start banks no hours for a stall later.
/// Whoever sends at `min_rate` or faster keeps its time; slower runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeout {
    /// The longest a body may stall, and the most time it has in hand.
    pub stall: Duration,
    /// The slowest a body may arrive, in bytes per second. 0 for no
    /// rate: then any bytes give back the whole `stall` (nginx's rule).
    pub min_rate: u64,
}

impl Default for BodyTimeout {
    /// 10 s without progress; 500 bytes a second, Apache's default rate.
    fn default() -> Self {
        BodyTimeout {
            stall: Duration::from_secs(10),
            min_rate: 500,
        }
    }
}

impl BodyTimeout {
    /// The time a client has in hand after `bytes` arrived, if it had
    /// `left` just before.
    pub fn after(&self, left: Duration, bytes: usize) -> Duration {
        let earned = match self.min_rate {
            0 if bytes > 0 => self.stall,
            0 => Duration::ZERO,
            rate => {
                let nanos = bytes as u128 * 1_000_000_000 / u128::from(rate);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        };
        left.saturating_add(earned).min(self.stall)
    }
}
// ANCHOR_END: body-timeout

#[cfg(test)]
mod tests;
