//! `hello`: the smallest app. Any method, any path: `Hello, World!`.

use crate::environ::Environ;
use crate::gateway::{App, Body, StartResponse};

// ANCHOR: hello
/// Answers every request with `200 OK` and `Hello, World!\n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hello;

impl App for Hello {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let body = b"Hello, World!\n";
        start_response.start(
            "200 OK",
            vec![
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                ("Content-Length".into(), body.len().to_string()),
            ],
        );
        if environ.is_head() {
            return Body::Empty; // the headers of a GET, no body
        }
        Body::Full(body.to_vec())
    }
}
// ANCHOR_END: hello
