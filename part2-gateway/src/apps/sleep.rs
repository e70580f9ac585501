//! `sleep`: waits `?ms=N` milliseconds, then answers. A stand-in for a
//! slow database query; parts 3 and 4 use it to show what a slow app does
//! to a server.

use std::thread;
use std::time::Duration;

use crate::environ::Environ;
use crate::gateway::{App, Body, StartResponse};

/// Sleeps for `?ms=N` (default 1000, capped) before answering.
#[derive(Debug, Clone, Copy)]
pub struct Sleep {
    /// The longest sleep a client may ask for, so no request can hold
    /// the server (or, in part 4, a worker) without end.
    pub max_ms: u64,
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep { max_ms: 10_000 }
    }
}

// ANCHOR: sleep
impl App for Sleep {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let asked = environ.query_param("ms").and_then(|v| v.parse().ok());
        let ms = asked.unwrap_or(1000).min(self.max_ms);
        thread::sleep(Duration::from_millis(ms)); // blocks this thread
        let body = format!("slept {ms} ms\n");
        start_response.start(
            "200 OK",
            vec![
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                ("Content-Length".into(), body.len().to_string()),
            ],
        );
        Body::from(body).unless_head(environ)
    }
}
// ANCHOR_END: sleep
