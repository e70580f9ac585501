//! `echo`: answers the request body byte for byte, whatever the method.
//!
//! ```text
//! curl -d 'Apples to Oranges!' http://127.0.0.1:8888/echo
//! ```

use crate::environ::Environ;
use crate::gateway::{App, Body, StartResponse};

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
        // Reading the input is what makes the server send `100 Continue`
        // to a client that asked for it.
        let body = match environ.read_body(self.max_body) {
            Ok(body) => body,
            Err(e) => {
                start_response.start(
                    "400 Bad Request",
                    vec![("Content-Type".into(), "text/plain".into())],
                );
                return Body::from(format!("cannot read the body: {e}\n"))
                    .unless_head(environ);
            }
        };
        let kind = environ
            .get("CONTENT_TYPE")
            .unwrap_or("application/octet-stream")
            .to_string();
        start_response.start(
            "200 OK",
            vec![
                ("Content-Type".into(), kind),
                ("Content-Length".into(), body.len().to_string()),
            ],
        );
        Body::Full(body).unless_head(environ)
    }
}
// ANCHOR_END: echo
