//! `UrlMap`: middleware that dispatches on the path, like Paste's
//! `URLMap` for WSGI. It moves the matched prefix from `PATH_INFO` to
//! `SCRIPT_NAME`, so a mounted app sees paths relative to its mount point
//! and can still build links to itself.

use crate::environ::Environ;
use crate::gateway::{App, Body, SharedApp, StartResponse};

/// Routes requests to apps by path prefix; the longest prefix wins.
#[derive(Default)]
pub struct UrlMap {
    /// `(prefix, exact, app)`: a prefix such as `/static` matches
    /// `/static` and `/static/…` but not `/staticky`; an exact route
    /// matches its path alone.
    routes: Vec<(String, bool, SharedApp)>,
}

impl UrlMap {
    /// An empty map: every request is a 404.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mounts `app` at `prefix` and below it.
    pub fn mount(mut self, prefix: &str, app: impl App) -> Self {
        let prefix = prefix.trim_end_matches('/').to_string();
        self.routes.push((prefix, false, std::sync::Arc::new(app)));
        self
    }

    /// Routes exactly `path` (and nothing below it) to `app`.
    pub fn exact(mut self, path: &str, app: impl App) -> Self {
        self.routes
            .push((path.to_string(), true, std::sync::Arc::new(app)));
        self
    }

    fn find(&self, path: &str) -> Option<(&str, bool, &SharedApp)> {
        self.routes
            .iter()
            .filter(|(prefix, exact, _)| {
                if *exact {
                    path == prefix
                } else {
                    path == prefix
                        || path
                            .strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                }
            })
            .max_by_key(|(prefix, exact, _)| (prefix.len(), *exact))
            .map(|(prefix, exact, app)| (prefix.as_str(), *exact, app))
    }
}

// ANCHOR: urlmap
impl App for UrlMap {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let path = environ.path_info().to_string();
        let Some((prefix, exact, app)) = self.find(&path) else {
            start_response.start(
                "404 Not Found",
                vec![(
                    "Content-Type".into(),
                    "text/plain; charset=utf-8".into(),
                )],
            );
            return Body::from(format!("404 Not Found: no app at {path}\n"))
                .unless_head(environ);
        };
        if !exact {
            let script = environ.get("SCRIPT_NAME").unwrap_or("").to_string();
            environ.set("SCRIPT_NAME", script + prefix);
            environ.set("PATH_INFO", &path[prefix.len()..]);
        }
        app.handle(environ, start_response)
    }
}
// ANCHOR_END: urlmap

#[cfg(test)]
mod tests;
