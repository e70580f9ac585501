//! The head parser a server keeps between reads: the same answers as
//! [`parse_head`](super::parse_head), faster.
//!
//! `parse_head` scans its buffer from the start on every call, so a head
//! that arrives a byte at a time is scanned again and again. A
//! [`RequestParser`] remembers how far it has looked, so each byte is
//! looked at once. It can also parse into a head that held an earlier
//! request, keeping the room its strings had (part 4's fast dispatcher
//! does). Tests in `request/tests.rs` and `tests/proptest_parse.rs`
//! check that both give the same answers for every split of the input.

use super::fields::{Facts, trim_ows};
use super::{
    Limits, RequestHead, find_lf, request_line, skip_empty_lines, tokenize,
};
use crate::error::HttpError;

/// Header slots kept on the stack for `httparse`; a larger
/// [`Limits::max_headers`] falls back to a heap array.
const STACK_HEADERS: usize = 128;

/// An incremental [`parse_head`](super::parse_head): it remembers how far
/// it has scanned, so bytes arriving one read at a time are looked at
/// once, not once per read.
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

    /// Like [`parse_head`](super::parse_head), resuming the scan where
    /// the last call ended.
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
    /// first `n` bytes. `head` keeps the room its strings and its list of
    /// headers had, so a server that reuses heads asks for no new memory
    /// for a request like the last one. On `Ok(None)` `head` is
    /// untouched; after an error its contents mean nothing.
    pub fn parse_into(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        head: &mut RequestHead,
    ) -> Result<Option<usize>, HttpError> {
        let result = match self.find_end(buf, limits) {
            Ok(Some(end)) => {
                fill(&buf[self.start..end], limits, head).map(|()| Some(end))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        if !matches!(result, Ok(None)) {
            *self = RequestParser::default();
        }
        result
    }

    /// [`head_end`](super::head_end), resumed: the checks run in the same
    /// order, but the bytes before `scanned` are not looked at again.
    fn find_end(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<usize>, HttpError> {
        if self.line_end.is_none() {
            self.start += skip_empty_lines(&buf[self.start..]);
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
        while let Some(lf) = find_lf(buf, self.scanned) {
            match &buf[lf + 1..] {
                [b'\n', ..] => return check_size(lf + 2, limits),
                [b'\r', b'\n', ..] => return check_size(lf + 3, limits),
                [] | [b'\r'] => {
                    // Maybe the end, once the next byte comes.
                    self.scanned = lf;
                    return incomplete(buf, limits);
                }
                _ => self.scanned = lf + 1,
            }
        }
        self.scanned = buf.len();
        incomplete(buf, limits)
    }
}

fn check_size(end: usize, limits: &Limits) -> Result<Option<usize>, HttpError> {
    if end > limits.max_head {
        return Err(HttpError::new(431, "head too large"));
    }
    Ok(Some(end))
}

fn incomplete(buf: &[u8], limits: &Limits) -> Result<Option<usize>, HttpError> {
    // The head will end at least one byte past what we hold.
    if buf.len() >= limits.max_head {
        return Err(HttpError::new(431, "head too large"));
    }
    Ok(None)
}

/// Parses a complete head into `head`, with the header slots on the
/// stack when they fit.
fn fill(
    bytes: &[u8],
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<(), HttpError> {
    let n = limits.max_headers;
    if n <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        fill_with(bytes, &mut slots[..n], head)
    } else {
        let mut slots = vec![httparse::EMPTY_HEADER; n];
        fill_with(bytes, &mut slots, head)
    }
}

/// [`parse_complete`](super::parse_complete), writing into the strings
/// `head` already has.
fn fill_with<'b>(
    bytes: &'b [u8],
    slots: &mut [httparse::Header<'b>],
    head: &mut RequestHead,
) -> Result<(), HttpError> {
    let mut req = httparse::Request::new(slots);
    if let Some(copy) = tokenize(&mut req, bytes)? {
        let mut slots = vec![httparse::EMPTY_HEADER; slots.len()];
        return fill_with(&copy, &mut slots, head);
    }
    let (method, target, version) = request_line(&req)?;
    let facts = Facts::gather(req.headers, version)?;
    head.headers.truncate(req.headers.len());
    for (i, field) in req.headers.iter().enumerate() {
        let value = String::from_utf8_lossy(trim_ows(field.value));
        match head.headers.get_mut(i) {
            Some((old_name, old_value)) => {
                replace(old_name, field.name);
                replace(old_value, &value);
            }
            None => head.headers.push((field.name.into(), value.into())),
        }
    }
    replace(&mut head.method, method);
    replace(&mut head.target, target);
    head.version = version;
    head.framing = facts.framing(version)?;
    head.keep_alive = facts.keep_alive(version);
    head.expect_continue = facts.expect_continue;
    Ok(())
}

/// Makes `old` hold `new`, in the room it has if that is enough.
fn replace(old: &mut String, new: &str) {
    old.clear();
    old.push_str(new);
}
