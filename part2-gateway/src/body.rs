//! Phase two: the request body, delimited as the head said.
//!
//! Like the head parser, the decoder is sans-I/O: it is handed whatever
//! bytes arrived, takes what belongs to the body and says how many it
//! took, so the rest (a pipelined request) stays with the caller.

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
    /// A decoder for `framing`; a `Content-Length` over `max_body` is
    /// refused at once with 413.
    ///
    /// Trailer fields of a chunked body may take as many bytes as a
    /// default [`Limits::max_head`]; [`with_limits`](Self::with_limits)
    /// takes them from the server's limits instead.
    pub fn new(framing: Framing, max_body: u64) -> Result<Self, HttpError> {
        let max_trailer = Limits::default().max_head;
        Self::build(framing, max_body, max_trailer)
    }

    /// A decoder for `framing` bounded by `limits.max_body` (413) and, for
    /// chunked trailer fields, `limits.max_head` (431).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_body() {
        let mut d = BodyDecoder::new(Framing::None, 10).unwrap();
        assert!(d.is_done());
        let mut out = Vec::new();
        assert_eq!(d.decode(b"GET / HTTP/1.1", &mut out), Ok(0));
        assert!(out.is_empty());
    }

    #[test]
    fn length_passes_exactly_n() {
        let mut d = BodyDecoder::new(Framing::Length(5), 10).unwrap();
        let mut out = Vec::new();
        assert!(!d.is_done());
        assert_eq!(d.decode(b"ab", &mut out), Ok(2));
        assert!(!d.is_done());
        assert_eq!(d.decode(b"cdeNEXT", &mut out), Ok(3));
        assert!(d.is_done());
        assert_eq!(out, b"abcde");
        assert_eq!(d.decode(b"more", &mut out), Ok(0));
        let zero = BodyDecoder::new(Framing::Length(0), 10).unwrap();
        assert!(zero.is_done());
    }

    #[test]
    fn length_over_max_is_413_at_once() {
        let err = BodyDecoder::new(Framing::Length(11), 10).unwrap_err();
        assert_eq!(err.status, 413);
        assert!(BodyDecoder::new(Framing::Length(10), 10).is_ok());
    }

    #[test]
    fn chunked() {
        let mut d = BodyDecoder::new(Framing::Chunked, 10).unwrap();
        let mut out = Vec::new();
        assert_eq!(d.decode(b"3\r\nabc\r\n0\r\n\r\nX", &mut out), Ok(13));
        assert!(d.is_done());
        assert_eq!(out, b"abc");
        let mut d = BodyDecoder::new(Framing::Chunked, 2).unwrap();
        let err = d.decode(b"3\r\nabc\r\n", &mut out).unwrap_err();
        assert_eq!(err.status, 413);
    }

    #[test]
    fn trailer_limit_from_limits() {
        let limits = Limits {
            max_head: 8,
            ..Limits::default()
        };
        let mut d =
            BodyDecoder::with_limits(Framing::Chunked, &limits).unwrap();
        let err = d
            .decode(b"0\r\nX-Long: 123456\r\n\r\n", &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.status, 431);
    }
}
