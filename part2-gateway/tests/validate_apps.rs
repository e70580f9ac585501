//! Every shipped app, run under the validator (our `wsgiref.validate`),
//! for the requests each is meant to handle and the ones it must refuse.
//! A broken contract on either side of the gateway fails this test.

use std::io::Cursor;
use std::net::SocketAddr;

use part2_gateway::apps::{self, AppOptions, Validator};
use part2_gateway::environ::{Environ, ServerInfo, cgi_vars};
use part2_gateway::request::{Framing, RequestHead, Version};
use part2_gateway::{App, SharedApp, StartResponse};

/// An environ for `method target` with `headers` and `body`, as a server
/// would build it.
fn environ(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Environ<'static> {
    let mut all = vec![("Host".to_string(), "localhost".to_string())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let head = RequestHead {
        method: method.into(),
        target: target.into(),
        version: Version::Http11,
        headers: all,
        framing: if body.is_empty() {
            Framing::None
        } else {
            Framing::Length(body.len() as u64)
        },
        keep_alive: true,
        expect_continue: false,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], 8888));
    let vars = cgi_vars(&head, &ServerInfo::new(addr, addr));
    Environ::new(vars, Cursor::new(body.to_vec()))
}

/// Runs one request through `app` under the validator; returns the
/// status and the problems the validator found.
fn run(
    app: SharedApp,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<String>) {
    let validator = Validator::new(Shared(app));
    let report = validator.report();
    let mut env = environ(method, target, headers, body);
    let mut sr = StartResponse::new();
    let body = validator.handle(&mut env, &mut sr);
    // Pull the body whole, as a server would, so length checks run.
    body.into_bytes().expect("body");
    let status = sr.parsed_status().map_or(0, |(code, _)| code);
    (status, report.problems())
}

/// A shared app as an app value the validator can own.
struct Shared(SharedApp);

impl App for Shared {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> part2_gateway::Body {
        self.0.handle(environ, start_response)
    }
}

/// App name, method, target, headers, body, and the status expected.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [u8],
    u16,
);

#[test]
fn every_shipped_app_keeps_the_contract() {
    let options = AppOptions::default();
    let cases: &[Case] = &[
        ("hello", "GET", "/", &[], b"", 200),
        ("hello", "HEAD", "/anything", &[], b"", 200),
        (
            "echo",
            "POST",
            "/",
            &[("Content-Type", "text/plain")],
            b"abc",
            200,
        ),
        ("echo", "GET", "/", &[], b"", 200),
        ("environ", "GET", "/x?y=1", &[], b"", 200),
        ("environ", "HEAD", "/", &[], b"", 200),
        ("echo", "HEAD", "/", &[], b"", 200),
        ("sleep", "HEAD", "/?ms=1", &[], b"", 200),
        ("demo", "HEAD", "/", &[], b"", 200),
        ("demo", "HEAD", "/nowhere", &[], b"", 404),
        ("demo", "HEAD", "/static/hello.txt", &[], b"", 200),
        ("sleep", "GET", "/?ms=1", &[], b"", 200),
        ("static", "GET", "/hello.txt", &[], b"", 200),
        ("static", "HEAD", "/hello.txt", &[], b"", 200),
        ("static", "GET", "/", &[], b"", 200),
        ("static", "GET", "/docs", &[], b"", 301),
        ("static", "GET", "/missing.txt", &[], b"", 404),
        ("static", "GET", "/../Cargo.toml", &[], b"", 404),
        ("static", "POST", "/hello.txt", &[], b"x", 405),
        (
            "static",
            "GET",
            "/hello.txt",
            &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
            b"",
            304,
        ),
        ("cgi", "GET", "/hello.sh/extra?x=1", &[], b"", 200),
        ("cgi", "GET", "/wsgi_app.py/any/path?x=1", &[], b"", 200),
        (
            "cgi",
            "POST",
            "/wsgi_app.py",
            &[("Content-Type", "text/plain")],
            b"Apples to Oranges!",
            200,
        ),
        ("cgi", "GET", "/nope.sh", &[], b"", 404),
        ("cgi", "HEAD", "/hello.sh", &[], b"", 200),
        ("demo", "GET", "/", &[], b"", 200),
        ("demo", "GET", "/hello", &[], b"", 200),
        (
            "demo",
            "GET",
            "/environ",
            &[("Accept-Encoding", "gzip")],
            b"",
            200,
        ),
        ("demo", "GET", "/static/hello.txt", &[], b"", 200),
        ("demo", "GET", "/cgi-bin/env.py", &[], b"", 200),
        ("demo", "GET", "/nowhere", &[], b"", 404),
    ];
    for (name, method, target, headers, body, status) in cases {
        let app = apps::by_name(name, &options).expect("shipped app");
        let (got, problems) = run(app, method, target, headers, body);
        assert_eq!(got, *status, "{name} {method} {target}");
        assert!(
            problems.is_empty(),
            "{name} {method} {target}: {problems:?}"
        );
    }
}

#[test]
fn the_validator_catches_a_broken_app() {
    // The check above would pass vacuously if the validator saw nothing.
    let broken = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![("Connection".into(), "close".into())]);
        part2_gateway::Body::from("x")
    };
    let (_, problems) = run(std::sync::Arc::new(broken), "GET", "/", &[], b"");
    assert_eq!(problems.len(), 1, "{problems:?}");
}
