//! What the header fields say about a request: its `Host`, how its body
//! is framed (RFC 9112 §6.3), whether the connection stays open, and
//! whether the client waits for `100 Continue`. Gathered in one pass.

use super::{Framing, Version};
use crate::error::HttpError;

/// RFC 9112 §3.2: `Host = uri-host [ ":" port ]` (RFC 3986 §3.2.2): an
/// IP literal in brackets or a registered name, then digits. Empty is
/// allowed (a URI without authority). A comma is refused although a
/// name may hold one: here it means a list, which Host must not be.
pub(super) fn valid_host(value: &[u8]) -> bool {
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
pub(super) fn trim_ows(mut v: &[u8]) -> &[u8] {
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
pub(super) struct Facts {
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
    pub(super) expect_continue: bool,
}

impl Facts {
    /// Reads every header field once, refusing what breaks a rule of
    /// RFC 9110/9112 on the way.
    pub(super) fn gather(
        fields: &[httparse::Header<'_>],
        version: Version,
    ) -> Result<Facts, HttpError> {
        let mut facts = Facts::default();
        for field in fields {
            facts.note(field.name, trim_ows(field.value), version)?;
        }
        // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request
        // without Host, and to any request with more than one.
        if facts.hosts > 1 {
            return Err(HttpError::new(400, "more than one Host"));
        }
        if facts.hosts == 0 && version == Version::Http11 {
            return Err(HttpError::new(400, "missing Host"));
        }
        Ok(facts)
    }

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
            // RFC 9110 §10.1.1: 100-continue is the only expectation;
            // any other gets 417, so the client does not wait in vain.
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
    pub(super) fn framing(
        &self,
        version: Version,
    ) -> Result<Framing, HttpError> {
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
    pub(super) fn keep_alive(&self, version: Version) -> bool {
        match version {
            Version::Http11 => !self.close,
            Version::Http10 => self.keep_alive_token && !self.close,
        }
    }
    // ANCHOR_END: keep-alive
}
