//! `environ`: lists the environ as `KEY=value` lines, the teaching view
//! of what a gateway hands an app.

use crate::environ::Environ;
use crate::gateway::{App, Body, StartResponse};

/// Answers with every meta-variable of the request, sorted.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShowEnviron;

impl App for ShowEnviron {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let mut text = String::new();
        for (key, value) in environ.vars() {
            text.push_str(key);
            text.push('=');
            text.push_str(value);
            text.push('\n');
        }
        start_response.start(
            "200 OK",
            vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        );
        Body::from(text).unless_head(environ)
    }
}
