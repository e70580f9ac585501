//! The chunked transfer coding (RFC 9112 §7.1), decoding and encoding.
//!
//! On the wire a chunked body is a series of chunks, each its size in hex
//! and a line end, then that many bytes and another line end; a chunk of
//! size 0 ends it, followed by optional trailer fields and an empty line:
//!
//! ```text
//! 4;ext=1\r\n
//! Wiki\r\n
//! 0\r\n
//! Trailer: x\r\n
//! \r\n
//! ```
//!
//! The decoder is a state machine that eats input byte by byte (and chunk
//! data in bulk), keeping its place in between. It never needs to look
//! ahead, so however the bytes are split across reads, the result is the
//! same.

use crate::error::HttpError;
use crate::rfc::is_tchar;

/// Longest chunk-size line (size and extensions) accepted. Extensions
/// are ignored, so this only stops a client from sending them forever.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Where the decoder is in the chunked grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// After the size: whitespace before `;` or the line end.
    SizeWs,
    /// In a chunk extension (ignored), outside a quoted string.
    Ext,
    /// In a quoted string of an extension; `escaped` after a backslash.
    ExtQuoted { escaped: bool },
    /// Saw CR at the end of the size line; LF must follow.
    SizeLf,
    /// Reading chunk data; this many bytes to go.
    Data(u64),
    /// After chunk data: CRLF (or LF) must follow.
    DataCr,
    /// Saw CR after chunk data; LF must follow.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Saw CR inside or at the end of a trailer line; LF must follow.
    TrailerLf,
    /// Saw CR of the final empty line; LF must follow.
    EndLf,
    /// The body is complete.
    Done,
}

/// Decodes a chunked body incrementally.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk size being read.
    size: u64,
    /// Hex digits read for `size`.
    digits: usize,
    /// Bytes of the current chunk-size line.
    line: usize,
    /// Bytes of trailer fields so far.
    trailer: usize,
    /// Whether the current trailer line has had its colon.
    colon: bool,
    /// Decoded body bytes so far.
    total: u64,
    max_body: u64,
    max_trailer: usize,
}

impl ChunkedDecoder {
    /// A decoder refusing bodies over `max_body` decoded bytes (413) and
    /// trailer sections over `max_trailer` bytes (431).
    pub fn new(max_body: u64, max_trailer: usize) -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            line: 0,
            trailer: 0,
            colon: false,
            total: 0,
            max_body,
            max_trailer,
        }
    }

    /// Whether the last chunk and the trailer section have arrived.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded body bytes so far. (`total` counts a chunk from its size
    /// line on, to refuse a body over the limit before its data comes.)
    pub fn decoded(&self) -> u64 {
        match self.state {
            State::Data(left) => self.total - left,
            _ => self.total,
        }
    }

    // ANCHOR: chunked-decode
    /// Decodes what it can of `input`, appending chunk data to `out`.
    /// Returns how many bytes of `input` it used: all of them, unless the
    /// body ended first (the rest is the next request).
    pub fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, HttpError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data(left) = self.state {
                // The bulk of the work: copy as much data as is here.
                let avail = input.len() - i;
                let take =
                    usize::try_from(left).map_or(avail, |l| l.min(avail));
                out.extend_from_slice(&input[i..i + take]);
                i += take;
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            self.step(input[i])?;
            i += 1;
        }
        Ok(i)
    }
    // ANCHOR_END: chunked-decode

    /// Moves the state machine on by one byte outside chunk data.
    fn step(&mut self, b: u8) -> Result<(), HttpError> {
        use State::*;
        if matches!(self.state, Size | SizeWs | Ext | ExtQuoted { .. }) {
            self.line += 1;
            if self.line > MAX_CHUNK_LINE {
                return Err(bad("chunk line too long"));
            }
        }
        // The empty line that ends the body is no trailer field.
        let field = matches!(self.state, Trailer | TrailerLf)
            || self.state == TrailerStart && !matches!(b, b'\r' | b'\n');
        if field {
            self.trailer += 1;
            if self.trailer > self.max_trailer {
                return Err(HttpError::new(431, "trailer section too large"));
            }
        }
        self.state = match (self.state, b) {
            // ANCHOR: chunked-size
            (Size, b) if b.is_ascii_hexdigit() => {
                // Overflow-checked: a size over u64 is an attack or a bug.
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(hex(b)))
                    .ok_or(bad("chunk size overflows"))?;
                self.digits += 1;
                Size
            }
            (Size, _) if self.digits == 0 => return Err(bad("bad chunk size")),
            // RFC 9112 §7.1.1: BWS may precede the `;` of an extension.
            (Size | SizeWs, b' ' | b'\t') => SizeWs,
            (Size | SizeWs | Ext, b';') => Ext,
            (Size | SizeWs | Ext, b'\r') => SizeLf,
            (Size | SizeWs | Ext, b'\n') => self.end_size_line()?,
            (Size | SizeWs, _) => return Err(bad("bad chunk size")),
            // Extensions are accepted and ignored (a real server might
            // look at them); only their quoting matters, so a quoted `;`
            // or CR cannot confuse us, and controls are refused.
            (Ext, b'"') => ExtQuoted { escaped: false },
            (Ext, b) if is_ctl(b) => return Err(bad("bad chunk extension")),
            (Ext, _) => Ext,
            (ExtQuoted { escaped: false }, b'"') => Ext,
            (ExtQuoted { escaped: false }, b'\\') => {
                ExtQuoted { escaped: true }
            }
            (ExtQuoted { .. }, b) if is_ctl(b) => {
                return Err(bad("bad chunk extension"));
            }
            (ExtQuoted { .. }, _) => ExtQuoted { escaped: false },
            (SizeLf, b'\n') => self.end_size_line()?,
            (SizeLf, _) => return Err(bad("bare CR in chunk size line")),
            // The data must be followed by a line end, or the sizes lie.
            (DataCr, b'\r') => DataLf,
            (DataCr, b'\n') | (DataLf, b'\n') => Size,
            (DataCr | DataLf, _) => {
                return Err(bad("missing CRLF after chunk data"));
            }
            // ANCHOR_END: chunked-size
            // Trailer fields (RFC 9112 §7.1.2): checked for shape, then
            // dropped; a real server might pass allowed ones to the app.
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart, b'\n') | (EndLf, b'\n') => Done,
            (EndLf, _) => return Err(bad("bare CR in trailer section")),
            (TrailerStart, b) if is_tchar(b) => {
                self.colon = false;
                Trailer
            }
            (TrailerStart, _) => return Err(bad("bad trailer field")),
            (Trailer, b':') => {
                self.colon = true;
                Trailer
            }
            (Trailer, b'\r') => TrailerLf,
            (Trailer, b'\n') | (TrailerLf, b'\n') => self.end_trailer_line()?,
            (TrailerLf, _) => return Err(bad("bare CR in trailer section")),
            (Trailer, b) if self.colon && (b == b'\t' || !is_ctl(b)) => Trailer,
            (Trailer, b) if is_tchar(b) => Trailer,
            (Trailer, _) => return Err(bad("bad trailer field")),
            (Data(_) | Done, _) => self.state,
        };
        Ok(())
    }

    /// The size line is over: data follows, or the trailers.
    fn end_size_line(&mut self) -> Result<State, HttpError> {
        let size = self.size;
        self.size = 0;
        self.digits = 0;
        self.line = 0;
        if size == 0 {
            return Ok(State::TrailerStart);
        }
        // Refuse at once, before the data arrives.
        self.total = self
            .total
            .checked_add(size)
            .filter(|&t| t <= self.max_body)
            .ok_or(HttpError::new(413, "body too large"))?;
        Ok(State::Data(size))
    }

    fn end_trailer_line(&mut self) -> Result<State, HttpError> {
        if !self.colon {
            return Err(bad("bad trailer field"));
        }
        Ok(State::TrailerStart)
    }
}

fn bad(detail: &'static str) -> HttpError {
    HttpError::new(400, detail)
}

fn hex(b: u8) -> u64 {
    match b {
        b'0'..=b'9' => u64::from(b - b'0'),
        b'a'..=b'f' => u64::from(b - b'a' + 10),
        _ => u64::from(b.wrapping_sub(b'A').wrapping_add(10)),
    }
}

/// Control characters, including DEL, but not HTAB's use in values.
fn is_ctl(b: u8) -> bool {
    b < b' ' && b != b'\t' || b == 0x7f
}

/// The last chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends `data` as one chunk: `{size in hex}\r\n{data}\r\n`.
///
/// Empty `data` writes nothing: a chunk of size 0 would end the body.
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut n = data.len();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.reserve(digits.len() - i + data.len() + 4);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
