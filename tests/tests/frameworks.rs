//! Real frameworks through the gateway, unchanged: a Flask app and a
//! Django view (`part2-gateway/cgi-bin/flask_app.py`, `django_app.py`),
//! run by Python's `wsgiref.handlers.CGIHandler` from the CGI app, on
//! parts 2, 3 and 4 (with both of part 4's dispatchers).
//!
//! They need Flask and Django for `python3`; `.ci/run` installs them, and
//! without them every check here fails, naming the command:
//! `python3 -m pip install flask==3.1.3 django==5.2.19`.

use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

use tests::client::{ResponseReader, connect, request};
use tests::{Options, check};

/// What to run when the frameworks are missing.
const INSTALL: &str = "python3 -m pip install flask==3.1.3 django==5.2.19";

/// The CGI app on `part2-gateway/cgi-bin`, as `--app cgi` serves it.
fn cgi() -> Options {
    Options::app("cgi")
}

/// Fails the check, naming the install command, unless `python3` can
/// import Flask and Django.
fn require_frameworks() {
    static FOUND: OnceLock<Result<(), String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import flask, django"])
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    });
    if let Err(problem) = found {
        panic!(
            "the frameworks test needs Flask and Django for python3 \
             ({problem}); install them with: {INSTALL}"
        );
    }
}

/// The CGI app, once the frameworks are known to be there.
fn frameworks() -> Options {
    require_frameworks();
    cgi()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

check!(
    flask_get,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let r = request(s.addr(), &get("/flask_app.py/hello?name=Ada"));
        assert_eq!(r.status, 200, "{}", text(&r.body));
        assert!(r.header("Content-Type").unwrap().starts_with("text/plain"));
        assert_eq!(text(&r.body), "Hello, Ada, from Flask!\n");
        let r = request(s.addr(), &get("/flask_app.py/nowhere"));
        assert_eq!(r.status, 404);
    }
);

check!(
    flask_form_post,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let post = b"POST /flask_app.py/form HTTP/1.1\r\nHost: x\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\
        Content-Length: 8\r\n\r\nname=ada";
        let r = request(s.addr(), post);
        assert_eq!(r.status, 200, "{}", text(&r.body));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(text(&r.body), "{\"length\":8,\"name\":\"ada\"}\n");
    }
);

check!(
    flask_chunked_post_with_100_continue,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let mut stream = connect(s.addr());
        let head = b"POST /flask_app.py/form HTTP/1.1\r\nHost: x\r\n\
            Content-Type: application/x-www-form-urlencoded\r\n\
            Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
        stream.write_all(head).unwrap();
        let mut reader = ResponseReader::new(stream);
        // The client waits for permission before it sends the body.
        let interim = reader.next("POST").unwrap();
        assert_eq!(interim.status, 100);
        let body = b"4\r\nname\r\n4\r\n=ada\r\n0\r\n\r\n";
        reader.stream().write_all(body).unwrap();
        let r = reader.next("POST").unwrap();
        assert_eq!(r.status, 200, "{}", text(&r.body));
        // The script saw a body of 8 bytes, not an empty chunked one.
        assert_eq!(text(&r.body), "{\"length\":8,\"name\":\"ada\"}\n");
    }
);

check!(
    flask_file_upload,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let file: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let boundary = "----s2s-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\
         a note\r\n--{boundary}\r\nContent-Disposition: form-data; \
         name=\"file\"; filename=\"bytes.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .unwrap();
        body.extend_from_slice(&file);
        write!(body, "\r\n--{boundary}--\r\n").unwrap();
        let mut post = format!(
            "POST /flask_app.py/upload HTTP/1.1\r\nHost: x\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        post.extend_from_slice(&body);
        let r = request(s.addr(), &post);
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let json = text(&r.body);
        assert!(json.contains("\"filename\":\"bytes.bin\""), "{json}");
        assert!(json.contains("\"size\":70000"), "{json}");
        assert!(json.contains("\"note\":\"a note\""), "{json}");
    }
);

check!(
    flask_streamed_response,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let r = request(s.addr(), &get("/flask_app.py/stream"));
        assert_eq!(r.status, 200, "{}", text(&r.body));
        // A generator has no length: the server frames it in chunks.
        assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
        assert_eq!(r.header("Content-Length"), None);
        assert_eq!(text(&r.body), "line 1\nline 2\nline 3\n");
    }
);

check!(
    flask_redirect,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let r = request(s.addr(), &get("/flask_app.py/go"));
        assert_eq!(r.status, 302, "{}", text(&r.body));
        // Flask built the URL from SCRIPT_NAME: the script's own path.
        let location = r.header("Location").unwrap();
        assert_eq!(location, "/flask_app.py/hello?name=again");
        let r = request(s.addr(), &get(location));
        assert_eq!(text(&r.body), "Hello, again, from Flask!\n");
    }
);

check!(
    flask_cookies,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let r = request(s.addr(), &get("/flask_app.py/cookie/set"));
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let cookie = r.header("Set-Cookie").unwrap();
        assert!(cookie.starts_with("flavour=oatmeal;"), "{cookie}");
        let back = b"GET /flask_app.py/cookie/get HTTP/1.1\r\nHost: x\r\n\
        Cookie: flavour=oatmeal\r\n\r\n";
        let r = request(s.addr(), back);
        assert_eq!(text(&r.body), "flavour=oatmeal\n");
    }
);

check!(
    django_hello,
    [Part2, Part3, Part4],
    options(frameworks()),
    |s| {
        let r = request(s.addr(), &get("/django_app.py/hello"));
        assert_eq!(r.status, 200, "{}", text(&r.body));
        assert!(r.header("Content-Type").unwrap().starts_with("text/plain"));
        assert_eq!(
            text(&r.body),
            "Hello from Django, GET /django_app.py/hello\n"
        );
    }
);
