//! `echo`: answers the request body byte for byte, whatever the method.
//!
//! ```text
//! curl -d 'Apples to Oranges!' http://127.0.0.1:8888/echo
//! ```

use crate::environ::Environ;
use crate::gateway::{App, Body, StartResponse};

/// How much of the body echo reads back at a time.
const PIECE: usize = 64 * 1024;

/// Sends the request body back with the request's `Content-Type`.
#[derive(Debug, Clone, Copy)]
pub struct Echo {
    /// The most this app reads; the server's own body limit applies first.
    pub max_body: u64,
}

impl Default for Echo {
    fn default() -> Self {
        Echo {
            max_body: 16 * 1024 * 1024,
        }
    }
}

// ANCHOR: echo
impl App for Echo {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let kind = environ
            .get("CONTENT_TYPE")
            .unwrap_or("application/octet-stream")
            .to_string();
        let ok = |len: u64| {
            vec![
                ("Content-Type".into(), kind),
                ("Content-Length".into(), len.to_string()),
            ]
        };
        // Parts 3 and 4 received the whole body before the app ran (in
        // memory, or in a file when it is large): stream it back from
        // there, a piece at a time, never holding it whole.
        if let Some((body, len)) = environ.take_body() {
            if len > self.max_body {
                let why = "request body over the app's limit";
                return refuse(environ, start_response, why);
            }
            start_response.start("200 OK", ok(len));
            // A small body gets a buffer of its own size, not a piece's.
            let piece = len.min(PIECE as u64) as usize;
            return Body::from_reader(body, piece).unless_head(environ);
        }
        // Part 2: the body is still on the socket, which only the server
        // may hold. Reading it is what sends `100 Continue` to a client
        // that asked for it.
        match environ.read_body(self.max_body) {
            Ok(body) => {
                start_response.start("200 OK", ok(body.len() as u64));
                Body::Full(body).unless_head(environ)
            }
            Err(e) => refuse(environ, start_response, &e.to_string()),
        }
    }
}
// ANCHOR_END: echo

/// `400 Bad Request`, saying why the body could not be echoed.
fn refuse(
    environ: &Environ<'_>,
    start_response: &mut StartResponse,
    why: &str,
) -> Body {
    start_response.start(
        "400 Bad Request",
        vec![("Content-Type".into(), "text/plain".into())],
    );
    Body::from(format!("cannot read the body: {why}\n")).unless_head(environ)
}
