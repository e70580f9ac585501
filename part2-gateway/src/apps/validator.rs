//! `Validator`: middleware that checks both sides of the gateway
//! contract, like Python's `wsgiref.validate`. Wrap any app in it while
//! developing; the tests run every shipped app under it.
//!
//! It changes nothing: it records each broken rule in a [`Report`] and
//! logs it, and passes the response through.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use crate::environ::Environ;
use crate::gateway::{
    App, Body, Headers, StartResponse, is_server_owned, parse_status,
};

/// The broken rules a [`Validator`] saw, shared with whoever checks them.
#[derive(Debug, Clone, Default)]
pub struct Report(Arc<Mutex<Vec<String>>>);

impl Report {
    /// Records one broken rule.
    pub fn push(&self, problem: String) {
        eprintln!("validator: {problem}");
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(problem);
    }

    /// Everything recorded so far.
    pub fn problems(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Wraps an app and checks the contract on both sides.
pub struct Validator<A> {
    inner: A,
    report: Report,
}

impl<A: App> Validator<A> {
    /// Wraps `inner`; read the findings from [`report`](Self::report).
    pub fn new(inner: A) -> Self {
        Validator {
            inner,
            report: Report::default(),
        }
    }

    /// The shared record of broken rules.
    pub fn report(&self) -> Report {
        self.report.clone()
    }
}

/// Variables every environ must carry (PEP 3333, RFC 3875 §4.1).
const REQUIRED: &[&str] = &[
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
];

// ANCHOR: validate
impl<A: App> App for Validator<A> {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let report = &self.report;
        check_environ(environ, report);
        let method = environ.method().to_string();

        let mut inner_sr = StartResponse::new();
        let body = self.inner.handle(environ, &mut inner_sr);

        match inner_sr.calls() {
            1 => {}
            0 => report.push("start_response was never called".into()),
            n => report.push(format!("start_response called {n} times")),
        }
        let status = inner_sr.status().unwrap_or("").to_string();
        let code = match parse_status(&status) {
            Some((code, _)) => code,
            None => {
                report.push(format!("malformed status {status:?}"));
                0
            }
        };
        check_headers(inner_sr.headers(), report);
        let bodyless =
            method == "HEAD" || matches!(code, 100..=199 | 204 | 304);
        let declared = inner_sr
            .header("Content-Length")
            .and_then(|v| v.parse::<u64>().ok());
        // Hand the app's answer on exactly as it gave it.
        if let Some(status) = inner_sr.status() {
            start_response.start(status, inner_sr.headers().clone());
        }
        check_body(body, bodyless, declared, &status, report)
    }
}
// ANCHOR_END: validate

fn check_environ(environ: &Environ<'_>, report: &Report) {
    for key in REQUIRED {
        if environ.get(key).is_none() {
            report.push(format!("environ lacks {key}"));
        }
    }
    for key in ["SCRIPT_NAME", "PATH_INFO"] {
        let value = environ.get(key).unwrap_or("");
        if !value.is_empty() && !value.starts_with('/') {
            report.push(format!("{key} {value:?} does not start with /"));
        }
    }
    if let Some(len) = environ.get("CONTENT_LENGTH")
        && (len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()))
    {
        report.push(format!("CONTENT_LENGTH {len:?} is not a number"));
    }
}

fn check_headers(headers: &Headers, report: &Report) {
    for (name, value) in headers {
        if name.is_empty()
            || !name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b)
            })
        {
            report.push(format!("header name {name:?} is not a token"));
        }
        if value.contains(['\r', '\n', '\0']) {
            report.push(format!("header {name} has CR, LF or NUL"));
        }
        if is_server_owned(name) {
            report.push(format!(
                "hop-by-hop or server header {name} from the app"
            ));
        }
    }
}

fn check_body(
    body: Body,
    bodyless: bool,
    declared: Option<u64>,
    status: &str,
    report: &Report,
) -> Body {
    if bodyless {
        let has_body = match &body {
            Body::Empty => false,
            Body::Full(bytes) => !bytes.is_empty(),
            Body::Stream(_) => true,
        };
        if has_body {
            report.push(format!("a body for a bodyless response ({status})"));
        }
        return body;
    }
    let Some(declared) = declared else {
        return body;
    };
    match body {
        Body::Stream(chunks) => Body::stream(CountedBody {
            chunks,
            produced: 0,
            declared,
            report: report.clone(),
        }),
        other => {
            let len = other.known_len().unwrap_or(0);
            if len != declared {
                report.push(format!(
                    "body of {len} bytes, Content-Length {declared}"
                ));
            }
            other
        }
    }
}

/// A streamed body that checks its length against the declared one when
/// it ends.
struct CountedBody {
    chunks: Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send>,
    produced: u64,
    declared: u64,
    report: Report,
}

impl Iterator for CountedBody {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.chunks.next();
        match &next {
            Some(Ok(chunk)) => {
                self.produced += chunk.len() as u64;
                if self.produced > self.declared {
                    self.report.push(format!(
                        "body longer than its Content-Length {}",
                        self.declared
                    ));
                }
            }
            Some(Err(_)) => {}
            None if self.produced < self.declared => {
                self.report.push(format!(
                    "body of {} bytes, Content-Length {}",
                    self.produced, self.declared
                ));
            }
            None => {}
        }
        next
    }
}

#[cfg(test)]
mod tests;
