//! Requests the server refuses, and the status codes it refuses them with.

use std::fmt;

/// A request the server refuses before, or instead of, running the app.
///
/// After one of these the bytes on the connection may be out of sync
/// (where does the next request start?), so the server always answers
/// with `Connection: close` and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    /// The status to answer with: 400, 408, 413, 414, 431, 501, 505 …
    pub status: u16,
    /// One line for the log and the response body, e.g. "bad chunk size".
    pub detail: &'static str,
}

impl HttpError {
    /// An error with its status and a short explanation.
    pub const fn new(status: u16, detail: &'static str) -> Self {
        HttpError { status, detail }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            reason(self.status),
            self.detail
        )
    }
}

impl std::error::Error for HttpError {}

/// The reason phrase RFC 9110 §15 gives a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
