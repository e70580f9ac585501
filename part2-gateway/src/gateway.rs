//! The gateway interface: how a server hands a request to an app.
//!
//! Modelled on Python's WSGI (PEP 3333). The server builds an
//! [`Environ`](crate::environ::Environ) (the CGI meta-variables plus the
//! request body as an input stream) and calls the app with it and a
//! [`StartResponse`]. The app calls `start_response.start("200 OK",
//! headers)` exactly once, then returns a [`Body`], which may be produced
//! piece by piece.
//!
//! An app is `Send + Sync` and its body is `Send`: the same value runs on
//! the blocking server of part 2, on the event loop of part 3 and on the
//! worker threads of part 4.

use std::io::{self, Read};
use std::sync::Arc;

use crate::environ::Environ;

/// Header fields as the app gives them: `(name, value)` pairs in order.
pub type Headers = Vec<(String, String)>;

// ANCHOR: app-trait
/// A web application: WSGI's `app(environ, start_response)`.
pub trait App: Send + Sync + 'static {
    /// Handles one request (WSGI calls the app itself): calls
    /// `start_response.start(..)` once, then
    /// returns the body.
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body;
}

/// Any function or closure of the right shape is an app.
impl<F> App for F
where
    F: Fn(&mut Environ<'_>, &mut StartResponse) -> Body + Send + Sync + 'static,
{
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        self(environ, start_response)
    }
}
// ANCHOR_END: app-trait

/// An app shared by every connection (and, in part 4, every thread).
pub type SharedApp = Arc<dyn App>;

// ANCHOR: body
/// What an app returns: nothing, bytes it already has, or a stream of
/// chunks produced one at a time (a file, a CGI script's output), so a
/// large body is never held in memory whole.
pub enum Body {
    /// No body at all.
    Empty,
    /// The whole body, already in memory.
    Full(Vec<u8>),
    /// Chunks pulled one by one; an `Err` aborts the response.
    Stream(Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send>),
}
// ANCHOR_END: body

impl Body {
    /// A streaming body from any iterator of chunks.
    pub fn stream<I>(chunks: I) -> Body
    where
        I: Iterator<Item = io::Result<Vec<u8>>> + Send + 'static,
    {
        Body::Stream(Box::new(chunks))
    }

    /// A streaming body read from `reader` (a file, a request body kept
    /// in a file) in pieces of up to `piece` bytes, as the server asks.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        piece: usize,
    ) -> Body {
        Body::stream(Pieces { reader, piece })
    }

    /// This body, or none for a HEAD request (which gets the headers of
    /// a GET and no body).
    pub fn unless_head(self, environ: &Environ<'_>) -> Body {
        if environ.is_head() { Body::Empty } else { self }
    }

    /// The length, when it is known without pulling the body.
    pub fn known_len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Full(bytes) => Some(bytes.len() as u64),
            Body::Stream(_) => None,
        }
    }

    /// Pulls a body whole; for tests and small bodies only.
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        match self {
            Body::Empty => Ok(Vec::new()),
            Body::Full(bytes) => Ok(bytes),
            Body::Stream(chunks) => {
                let mut all = Vec::new();
                for chunk in chunks {
                    all.extend_from_slice(&chunk?);
                }
                Ok(all)
            }
        }
    }
}

/// A reader as an iterator of pieces, for [`Body::from_reader`].
struct Pieces<R> {
    reader: R,
    piece: usize,
}

impl<R: Read> Iterator for Pieces<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = vec![0; self.piece];
        loop {
            return match self.reader.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(buf))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Some(Err(e)),
            };
        }
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Body {
        Body::Full(text.as_bytes().to_vec())
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Full(text.into_bytes())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Full(bytes)
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Body::Stream(..)"),
        }
    }
}

// ANCHOR: start-response
/// WSGI's `start_response`: the app passes its status and headers here.
///
/// It records rather than writes: the server decides when the head goes
/// on the wire, and it corrects what the app may not decide (framing,
/// `Connection`, `Date`, `Server`).
#[derive(Debug, Default, Clone)]
pub struct StartResponse {
    status: Option<String>,
    headers: Headers,
    calls: usize,
}

impl StartResponse {
    /// Ready for the app's call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the status line (`"404 Not Found"`) and the header fields.
    ///
    /// Called more than once, the last call wins; the validator reports
    /// it as a broken contract.
    pub fn start(&mut self, status: &str, headers: Headers) {
        self.status = Some(status.to_string());
        self.headers = headers;
        self.calls += 1;
    }
    // ANCHOR_END: start-response

    /// The status as the app gave it, if it called [`start`](Self::start).
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// The status code and reason, if the status is well formed:
    /// three digits, a space, a reason phrase (which may be empty).
    pub fn parsed_status(&self) -> Option<(u16, &str)> {
        parse_status(self.status.as_deref()?)
    }

    /// The header fields the app set.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Mutable header fields, for middleware that rewrites them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// How many times the app called [`start`](Self::start).
    pub fn calls(&self) -> usize {
        self.calls
    }
}

/// Splits `"200 OK"` into `(200, "OK")`; `None` if malformed.
pub fn parse_status(status: &str) -> Option<(u16, &str)> {
    let (code, reason) = match status.split_once(' ') {
        Some((code, reason)) => (code, reason),
        None => (status, ""),
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = code.parse().ok()?;
    if !(100..=599).contains(&code) || reason.contains(['\r', '\n']) {
        return None;
    }
    Some((code, reason))
}

/// The first value of `name` in `headers`, compared case-insensitively.
pub fn header<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// ANCHOR: server-owned
/// Headers the server owns: hop-by-hop fields (RFC 9110 §7.6.1) and the
/// ones it always sets itself. An app that sets them is corrected.
pub const SERVER_OWNED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "date",
    "server",
];

/// Whether the server, not the app, decides header `name`.
pub fn is_server_owned(name: &str) -> bool {
    SERVER_OWNED
        .iter()
        .any(|owned| owned.eq_ignore_ascii_case(name))
}
// ANCHOR_END: server-owned

#[cfg(test)]
mod tests;
