//! One request's response, produced piece by piece.
//!
//! Every server of the book runs an app the same way: call it, check what
//! it said, choose the framing, then pull the body and encode it. Only
//! *when* the bytes are written differs: the blocking server writes them
//! at once, the event loop of part 3 when the socket is writable, the
//! workers of part 4 hand them to the loop. So that logic lives here, with
//! no socket in sight.

use std::panic::{self, AssertUnwindSafe};

use crate::environ::Environ;
use crate::error::{HttpError, reason};
use crate::gateway::{App, Body, StartResponse, is_server_owned};
use crate::request::RequestHead;
use crate::response::{
    BodyEncoder, OutFraming, Plan, RequestFacts, write_error, write_head,
};
use crate::rfc::text_error;

/// A response being produced: its head, then its body, as bytes to write.
pub struct Exchange {
    /// The encoded head, until the first [`fill`](Exchange::fill).
    head: Vec<u8>,
    body: Option<Body>,
    encoder: BodyEncoder,
    plan: Plan,
    status: u16,
    body_bytes: u64,
    /// Why the response went wrong after it started, for the log.
    problem: Option<String>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("status", &self.status)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

// ANCHOR: respond
/// Runs `app` for one request and returns the response to write.
///
/// An app that panics, forgets `start_response` or gives a malformed
/// status gets its client a 500, not a dead server.
pub fn respond(
    app: &dyn App,
    environ: &mut Environ<'_>,
    request: RequestFacts,
) -> Exchange {
    let mut start_response = StartResponse::new();
    let called = panic::catch_unwind(AssertUnwindSafe(|| {
        app.handle(environ, &mut start_response)
    }));
    let body = match called {
        Ok(body) => body,
        Err(_) => return Exchange::internal_error(request, "the app panicked"),
    };
    if let Some(problem) = status_problem(&start_response) {
        return Exchange::internal_error(request, problem);
    }
    // The app may declare a length; otherwise a body in memory has one.
    let declared = start_response.header("Content-Length");
    let body_len = match declared.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Exchange::internal_error(request, "bad Content-Length");
        }
        // An app answers HEAD with no body; its length is not that of
        // the GET, and a HEAD's Content-Length must be (RFC 9110 §8.6).
        None if request.head_method && matches!(body, Body::Empty) => None,
        None => body.known_len(),
    };
    // Framing and hop-by-hop fields are the server's to write.
    let mut headers = std::mem::take(start_response.headers_mut());
    headers.retain(|(n, _)| {
        !is_server_owned(n) && !n.eq_ignore_ascii_case("content-length")
    });
    let Some((status, reason)) = start_response.parsed_status() else {
        return Exchange::internal_error(request, "the app gave a bad status");
    };
    // 205 tells the client to reset its form, and has no content (RFC
    // 9110 §15.3.6); unlike 204 it is framed, with a length of zero.
    let (body, body_len) = match status {
        205 => (Body::Empty, Some(0)),
        _ => (body, body_len),
    };
    let mut head = Vec::with_capacity(256);
    let plan =
        write_head(&mut head, &request, status, reason, &headers, body_len);
    Exchange::new(head, body, plan, status)
}
// ANCHOR_END: respond

/// What is wrong with the status the app gave, if anything.
fn status_problem(start_response: &StartResponse) -> Option<&'static str> {
    match (start_response.status(), start_response.parsed_status()) {
        (None, _) => Some("the app did not call start_response"),
        (Some(_), None) => Some("the app gave a malformed status"),
        // A 1xx is interim: the client would wait for a final status
        // that never comes, and an HTTP/1.0 client must never get one
        // (RFC 9110 §15.2). Interim responses are the server's to send.
        (Some(_), Some((code, _))) if code < 200 => {
            Some("the app gave a 1xx status")
        }
        (Some(_), Some(_)) => None,
    }
}

impl Exchange {
    fn new(head: Vec<u8>, body: Body, plan: Plan, status: u16) -> Self {
        let body = match plan.framing {
            // HEAD, 1xx, 204, 304: whatever the app returned is dropped
            // unread, as WSGI servers `close()` an unused iterable.
            OutFraming::NoBody => None,
            _ => Some(body),
        };
        Exchange {
            head,
            body,
            encoder: BodyEncoder::new(&plan),
            plan,
            status,
            body_bytes: 0,
            problem: None,
        }
    }

    /// A complete error response for a request refused by the server,
    /// e.g. 400 for a malformed head. The connection closes after it.
    pub fn error(error: &HttpError) -> Self {
        let mut head = Vec::with_capacity(256);
        write_error(&mut head, error);
        let plan = Plan {
            framing: OutFraming::NoBody,
            keep_alive: false,
        };
        let mut exchange = Exchange::new(head, Body::Empty, plan, error.status);
        exchange.problem = Some(error.detail.to_string());
        exchange
    }

    /// The error response for a request the server refuses: `head` if
    /// it was parsed, else `bytes`, what arrived of it. A HEAD gets the
    /// head of the error response and no content (RFC 9110 §9.3.2), as
    /// the client will read none: what counts is what it sent, so a
    /// malformed request that starts with `HEAD ` counts too.
    pub fn refusal(
        error: &HttpError,
        head: Option<&RequestHead>,
        bytes: &[u8],
    ) -> Self {
        let mut exchange = Exchange::error(error);
        let head_method = match head {
            Some(head) => head.is_head(),
            None => bytes.trim_ascii_start().starts_with(b"HEAD "),
        };
        let end = exchange.head.windows(4).position(|w| w == b"\r\n\r\n");
        if let (true, Some(end)) = (head_method, end) {
            exchange.head.truncate(end + 4);
        }
        exchange
    }

    fn internal_error(request: RequestFacts, problem: &str) -> Self {
        let mut start_response = StartResponse::new();
        let body = text_error(&mut start_response, 500, Vec::new());
        let mut head = Vec::with_capacity(256);
        let plan = write_head(
            &mut head,
            &request,
            500,
            reason(500),
            start_response.headers(),
            body.known_len(),
        );
        let mut exchange = Exchange::new(head, body, plan, 500);
        exchange.problem = Some(problem.to_string());
        exchange
    }

    // ANCHOR: fill
    /// Appends the next bytes to write to `out`: the head first, then
    /// body pieces, until `out` holds at least `want` bytes or the body
    /// ends. Returns `true` while more remains.
    pub fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> bool {
        if out.is_empty() {
            // Hand over the head's buffer instead of copying it.
            std::mem::swap(out, &mut self.head);
        } else if !self.head.is_empty() {
            out.append(&mut self.head);
        }
        while out.len() < want {
            let Some(body) = self.body.as_mut() else {
                return false;
            };
            let chunk = match body {
                Body::Empty => None,
                Body::Full(bytes) => Some(Ok(std::mem::take(bytes))),
                Body::Stream(chunks) => chunks.next(),
            };
            match chunk {
                Some(Ok(bytes)) => {
                    if let Body::Full(_) = body {
                        // One piece, then the end.
                        *body = Body::Empty;
                    }
                    self.body_bytes += bytes.len() as u64;
                    if let Err(m) = self.encoder.write(&bytes, out) {
                        self.abort(format!(
                            "body longer than its Content-Length {}",
                            m.declared
                        ));
                        return false;
                    }
                }
                Some(Err(e)) => {
                    self.abort(format!("body failed: {e}"));
                    return false;
                }
                None => {
                    self.body = None;
                    if let Err(m) = self.encoder.finish(out) {
                        self.abort(format!(
                            "body of {} bytes, Content-Length {}",
                            m.produced, m.declared
                        ));
                    }
                    return false;
                }
            }
        }
        true
    }
    // ANCHOR_END: fill

    /// The response cannot be finished as framed: stop, and make the
    /// server close, which is how the client learns it is incomplete.
    fn abort(&mut self, problem: String) {
        self.body = None;
        self.plan.keep_alive = false;
        self.problem = Some(problem);
    }

    /// Whether the connection may carry another request afterwards.
    pub fn keep_alive(&self) -> bool {
        self.plan.keep_alive
    }

    /// Closes the connection after this response (the server could not
    /// keep the stream in sync, or is shutting down). If the head has not
    /// been handed out yet, it is rewritten to say `Connection: close`: a
    /// server that will close should say so (RFC 9112 §9.6).
    pub fn close_after(&mut self) {
        let ka = b"Connection: keep-alive\r\n";
        if self.plan.keep_alive && self.head.ends_with(b"\r\n\r\n") {
            self.head.truncate(self.head.len() - 2);
            if self.head.ends_with(ka) {
                self.head.truncate(self.head.len() - ka.len());
            }
            self.head.extend_from_slice(b"Connection: close\r\n\r\n");
        }
        self.plan.keep_alive = false;
    }

    /// The status code sent.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Body bytes produced so far (before transfer coding), for the log.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// What went wrong, if the app or its body misbehaved.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The framing chosen for the body.
    pub fn framing(&self) -> OutFraming {
        self.plan.framing
    }
}
