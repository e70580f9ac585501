//! The CGI app with real scripts; they are shell scripts, so Unix only.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use super::output::find_blank_line;
use super::process::interpreter;
use super::*;
use crate::apps::test_dir::TempDir;
use crate::environ::{ServerInfo, cgi_vars, percent_decode};
use crate::request::{Framing, RequestHead, Version};

impl TempDir {
    /// A temporary directory with an empty `bin/` for scripts.
    fn scripts() -> TempDir {
        let tmp = TempDir::new("cgi");
        fs::create_dir_all(tmp.0.join("bin")).unwrap();
        tmp
    }

    /// Writes an executable script into `bin/`.
    fn script(&self, name: &str, text: &str) {
        let path = self.0.join("bin").join(name);
        fs::write(&path, text).unwrap();
        let mode = fs::Permissions::from_mode(0o755);
        fs::set_permissions(&path, mode).unwrap();
    }

    fn cgi(&self) -> Cgi {
        Cgi::new(self.0.join("bin")).unwrap()
    }
}

fn shipped() -> Cgi {
    Cgi::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin")).unwrap()
}

/// Runs `app` for `method target` with `body`, mounted at /cgi-bin.
fn run(
    app: &Cgi,
    method: &str,
    target: &str,
    body: &[u8],
) -> (StartResponse, Vec<u8>) {
    let (sr, body) = start(app, method, target, body);
    (sr, body.into_bytes().unwrap())
}

fn start(
    app: &Cgi,
    method: &str,
    target: &str,
    body: &[u8],
) -> (StartResponse, Body) {
    let test = Environ::for_test(method, target);
    let mut vars: BTreeMap<String, String> = test.vars().clone();
    vars.insert("SCRIPT_NAME".into(), "/cgi-bin".into());
    if !body.is_empty() {
        vars.insert("CONTENT_LENGTH".into(), body.len().to_string());
    }
    let mut environ = Environ::new(vars, Cursor::new(body.to_vec()));
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    (sr, body)
}

fn status(sr: &StartResponse) -> u16 {
    sr.parsed_status().unwrap().0
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// Whether process `pid` is gone (or a zombie awaiting `init`).
fn gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z')),
    }
}

#[test]
fn hello_sh_runs() {
    let (sr, body) = run(&shipped(), "GET", "/hello.sh/a/b?x=1", b"");
    assert_eq!(status(&sr), 200);
    assert_eq!(sr.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let body = text(&body);
    assert!(body.starts_with("Hello from a shell script"), "{body}");
    assert!(
        body.contains("SCRIPT_NAME     = /cgi-bin/hello.sh"),
        "{body}"
    );
    assert!(body.contains("PATH_INFO       = /a/b"), "{body}");
    assert!(body.contains("QUERY_STRING    = x=1"), "{body}");
}

#[test]
fn env_py_shows_only_cgi_variables() {
    let (sr, body) = run(&shipped(), "GET", "/env.py", b"");
    assert_eq!(status(&sr), 200);
    let body = text(&body);
    assert!(body.contains("GATEWAY_INTERFACE=CGI/1.1\n"), "{body}");
    assert!(body.contains("HTTP_HOST=localhost\n"), "{body}");
    assert!(body.contains("SCRIPT_NAME=/cgi-bin/env.py\n"), "{body}");
    assert!(body.contains("PATH="), "{body}");
    // The server's own environment stays out.
    assert!(!body.contains("CARGO_MANIFEST_DIR"), "{body}");
    assert!(!body.contains("HOME="), "{body}");
}

#[test]
fn a_python_wsgi_app_runs_under_cgihandler() {
    let app = shipped();
    let (sr, body) = run(&app, "GET", "/wsgi_app.py/some/path?x=1", b"");
    assert_eq!(status(&sr), 200);
    assert_eq!(sr.header("Content-Type"), Some("text/html; charset=utf-8"));
    let body = text(&body);
    assert!(body.contains("Hello from a Python WSGI app"), "{body}");
    assert!(body.contains("<code>/some/path</code>"), "{body}");
    assert!(body.contains("<code>x=1</code>"), "{body}");
    let len: usize = sr.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(len, body.len());

    let target = "/wsgi_app.py/echo?format=text";
    let (sr, body) = run(&app, "POST", target, b"say=hello+world");
    assert_eq!(status(&sr), 200);
    assert_eq!(sr.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let body = text(&body);
    assert!(body.contains("method: POST\n"), "{body}");
    assert!(body.contains("path: /echo\n"), "{body}");
    assert!(body.contains("body: say=hello+world\n"), "{body}");
}

#[test]
fn the_status_header_is_honoured() {
    let tmp = TempDir::scripts();
    tmp.script(
        "gone.sh",
        "#!/bin/sh\nprintf 'Status: 404 Not Found\\r\\n\
         Content-Type: text/plain\\r\\nX-Why: testing\\r\\n\\r\\nnope'\n",
    );
    tmp.script(
        "code.sh",
        "#!/bin/sh\n\
         printf 'Status: 201\\nContent-Type: text/plain\\n\\n'\n",
    );
    let (sr, body) = run(&tmp.cgi(), "GET", "/gone.sh", b"");
    assert_eq!(sr.status(), Some("404 Not Found"));
    assert_eq!(sr.header("X-Why"), Some("testing"));
    assert_eq!(sr.header("Status"), None);
    assert_eq!(body, b"nope");
    let (sr, _) = run(&tmp.cgi(), "GET", "/code.sh", b"");
    assert_eq!(sr.status(), Some("201 Created"));
}

#[test]
fn location_redirects() {
    let tmp = TempDir::scripts();
    tmp.script("local.sh", "#!/bin/sh\nprintf 'Location: /x\\n\\n'\n");
    tmp.script(
        "away.sh",
        "#!/bin/sh\nprintf 'Location: https://example.com/\\n\\n'\n",
    );
    let (sr, _) = run(&tmp.cgi(), "GET", "/local.sh", b"");
    assert_eq!(sr.status(), Some("302 Found"));
    assert_eq!(sr.header("Location"), Some("/x"));
    let (sr, _) = run(&tmp.cgi(), "GET", "/away.sh", b"");
    assert_eq!(sr.status(), Some("302 Found"));
    assert_eq!(sr.header("Location"), Some("https://example.com/"));
}

#[test]
fn the_body_goes_to_stdin() {
    let tmp = TempDir::scripts();
    tmp.script(
        "cat.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         echo \"length=$CONTENT_LENGTH\"\ncat\n",
    );
    let (sr, body) = run(&tmp.cgi(), "POST", "/cat.sh", b"some input");
    assert_eq!(status(&sr), 200);
    assert_eq!(text(&body), "length=10\nsome input");
}

#[test]
fn a_script_writing_before_reading_does_not_deadlock() {
    // 256 KiB out before reading 1 MiB in: both pipes fill up unless
    // stdin is fed from its own thread.
    let tmp = TempDir::scripts();
    tmp.script(
        "chatty.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n\
         head -c 262144 /dev/zero\ncat | wc -c\n",
    );
    let input = vec![b'x'; 1024 * 1024];
    let app = tmp.cgi().with_timeout(Duration::from_secs(20));
    let (sr, body) = run(&app, "POST", "/chatty.sh", &input);
    assert_eq!(status(&sr), 200);
    assert_eq!(body.len(), 262144 + "1048576\n".len());
    assert!(text(&body[262144..]).trim() == "1048576");
}

#[test]
fn the_output_streams() {
    let tmp = TempDir::scripts();
    tmp.script(
        "big.sh",
        "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\
         Content-Length: 100000\\n\\n'\nhead -c 100000 /dev/zero\n",
    );
    let (sr, body) = start(&tmp.cgi(), "GET", "/big.sh", b"");
    assert_eq!(sr.header("Content-Length"), Some("100000"));
    let Body::Stream(chunks) = body else {
        panic!("not streamed")
    };
    let chunks: Vec<Vec<u8>> = chunks.map(|c| c.unwrap()).collect();
    assert!(chunks.len() > 1);
    assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
    assert_eq!(chunks.concat().len(), 100000);
}

#[test]
fn broken_header_blocks_are_502() {
    let tmp = TempDir::scripts();
    let long = "X-Long: ".to_string() + &"a".repeat(40 * 1024);
    let cases = [
        ("nocolon.sh", "printf 'Content-Type text/plain\\n\\nx'"),
        ("eof.sh", "printf 'Content-Type: text/plain\\n'"),
        ("nothing.sh", "true"),
        ("notype.sh", "printf 'X-Foo: 1\\n\\nbody'"),
        ("status.sh", "printf 'Status: OK\\nContent-Type: a/b\\n\\n'"),
        ("fold.sh", "printf 'Content-Type: a/b\\n more\\n\\n'"),
        (
            "length.sh",
            "printf 'Content-Type: a/b\\nContent-Length: x\\n\\n'",
        ),
        ("long.sh", &format!("printf '{long}\\n'; sleep 5")),
        ("crash.sh", "exit 3"),
    ];
    for (name, body) in &cases {
        tmp.script(name, &format!("#!/bin/sh\n{body}\n"));
    }
    for (name, _) in &cases {
        let (sr, body) = run(&tmp.cgi(), "GET", &format!("/{name}"), b"");
        assert_eq!(status(&sr), 502, "{name}");
        assert_eq!(text(&body), "502 Bad Gateway\n");
    }
}

#[test]
fn a_slow_script_is_killed_with_504() {
    let tmp = TempDir::scripts();
    let pids = tmp.0.join("pids");
    // `sleep` runs as a child of `sh`: killing `sh` alone would leave
    // it holding our pipe.
    tmp.script(
        "slow.sh",
        &format!(
            "#!/bin/sh\necho $$ > {0}.sh\nsleep 30 &\necho $! > {0}.sleep\n\
             wait\n",
            pids.display()
        ),
    );
    let app = tmp.cgi().with_timeout(Duration::from_millis(300));
    let began = Instant::now();
    let (sr, body) = run(&app, "GET", "/slow.sh", b"");
    assert_eq!(status(&sr), 504);
    assert_eq!(text(&body), "504 Gateway Timeout\n");
    assert!(began.elapsed() < Duration::from_secs(10));
    let sh = fs::read_to_string(pids.with_extension("sh")).unwrap();
    let sleep = fs::read_to_string(pids.with_extension("sleep")).unwrap();
    // The script was reaped by us; the orphan `sleep` is gone too.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(gone(&sh) && gone(&sleep)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(&sh) && gone(&sleep), "left behind: {sh} {sleep}");
}

#[test]
fn a_timeout_after_the_headers_ends_the_body_with_an_error() {
    let tmp = TempDir::scripts();
    tmp.script(
        "stall.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstart'\n\
         exec sleep 30\n",
    );
    let app = tmp.cgi().with_timeout(Duration::from_millis(300));
    let (sr, body) = start(&app, "GET", "/stall.sh", b"");
    assert_eq!(status(&sr), 200);
    let Body::Stream(mut chunks) = body else {
        panic!("not streamed")
    };
    assert_eq!(chunks.next().unwrap().unwrap(), b"start");
    let end = chunks.next().unwrap().unwrap_err();
    assert_eq!(end.kind(), io::ErrorKind::TimedOut);
    assert!(chunks.next().is_none());
}

#[test]
fn dropping_the_body_kills_the_script() {
    let tmp = TempDir::scripts();
    let pid = tmp.0.join("pid");
    tmp.script(
        "forever.sh",
        &format!(
            "#!/bin/sh\necho $$ > {}\n\
             printf 'Content-Type: text/plain\\n\\n'\nexec yes\n",
            pid.display()
        ),
    );
    let (_, body) = start(&tmp.cgi(), "GET", "/forever.sh", b"");
    let Body::Stream(mut chunks) = body else {
        panic!("not streamed")
    };
    assert!(!chunks.next().unwrap().unwrap().is_empty());
    let pid = fs::read_to_string(pid).unwrap();
    assert!(!gone(&pid));
    drop(chunks);
    // Killed and reaped at once, not merely a zombie.
    assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists());
}

#[test]
fn only_executable_files_in_the_directory_run() {
    let tmp = TempDir::scripts();
    tmp.script("ok.sh", "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n");
    tmp.script(
        ".hidden.sh",
        "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n",
    );
    tmp.script(
        "../outside.sh",
        "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n",
    );
    fs::write(tmp.0.join("bin/data.txt"), "not a script").unwrap();
    fs::create_dir(tmp.0.join("bin/sub")).unwrap();
    std::os::unix::fs::symlink(
        tmp.0.join("outside.sh"),
        tmp.0.join("bin/link.sh"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        tmp.0.join("bin/ok.sh"),
        tmp.0.join("bin/in.sh"),
    )
    .unwrap();
    let app = tmp.cgi();
    for (target, expect) in [
        ("/ok.sh", 200),
        ("/ok.sh/", 200),
        ("/in.sh", 200),
        ("/data.txt", 403),
        ("/missing.sh", 404),
        ("/", 404),
        ("", 404),
        ("/sub", 404),
        ("/sub/ok.sh", 404),
        ("/.hidden.sh", 404),
        ("/../outside.sh", 404),
        ("/%2e%2e/outside.sh", 404),
        ("/..%2foutside.sh", 404),
        ("/link.sh", 404),
    ] {
        // PATH_INFO as the URL map leaves it: decoded, below /cgi-bin.
        let test = Environ::for_test("GET", target);
        let mut vars = test.vars().clone();
        vars.insert("PATH_INFO".into(), percent_decode(target));
        let mut environ = Environ::new(vars, io::empty());
        let mut sr = StartResponse::new();
        let _ = app.handle(&mut environ, &mut sr).into_bytes().unwrap();
        assert_eq!(status(&sr), expect, "{target}");
    }
}

#[test]
fn oversized_bodies_are_413() {
    let tmp = TempDir::scripts();
    tmp.script("ok.sh", "#!/bin/sh\nprintf 'Content-Type: a/b\\n\\n'\n");
    let app = tmp.cgi().with_max_input(4);
    assert_eq!(status(&run(&app, "POST", "/ok.sh", b"1234").0), 200);
    assert_eq!(status(&run(&app, "POST", "/ok.sh", b"12345").0), 413);
}

#[test]
fn header_blocks_parse() {
    assert_eq!(find_blank_line(b"A: b\r\n\r\nbody"), Some((6, 8)));
    assert_eq!(find_blank_line(b"A: b\n\nbody"), Some((5, 6)));
    assert_eq!(find_blank_line(b"\nbody"), Some((0, 1)));
    assert_eq!(find_blank_line(b"A: b\r\n"), None);
    let (status, headers) =
        parse_head(b"Content-Type:  text/html \r\nSet-Cookie: a=1").unwrap();
    assert_eq!(status, "200 OK");
    assert_eq!(headers[0], ("Content-Type".into(), "text/html".into()));
    assert_eq!(parse_head(b"Status: 204").unwrap().0, "204 No Content");
    assert_eq!(
        parse_head(b"Status: 299\r\nContent-Type: a/b").unwrap().0,
        "299 "
    );
    assert!(parse_head(b"Bad Name: x\nContent-Type: a/b").is_err());
    assert!(parse_head(b"Content-Type: a\x01b").is_err());
    assert!(is_env_name("HTTP_X_Y2") && is_env_name("PATH_INFO"));
    assert!(
        !is_env_name("wsgi.input") && !is_env_name("2X") && !is_env_name("")
    );
}

#[test]
fn interpreters_from_hash_bang_lines() {
    assert_eq!(interpreter("#!/usr/bin/env python3").unwrap(), "python3");
    assert_eq!(interpreter("#! /bin/sh -e").unwrap(), "sh");
    assert_eq!(interpreter("#!/usr/bin/python3").unwrap(), "python3");
    assert_eq!(interpreter("print('no')"), None);
    assert_eq!(interpreter("#!/usr/bin/env"), None);
}

/// The script environment for a request with `headers` and a body of
/// `input_len` bytes, as the server would build it.
fn env_for(
    headers: &[(&str, &str)],
    framing: Framing,
    input_len: usize,
) -> BTreeMap<String, String> {
    let mut all = vec![("Host".to_string(), "x".to_string())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let head = RequestHead {
        method: "POST".into(),
        target: "/cgi-bin/s.py/p?q=1".into(),
        version: Version::Http11,
        headers: all,
        framing,
        keep_alive: true,
        expect_continue: false,
    };
    let addr = "127.0.0.1:8888".parse().unwrap();
    let mut vars = cgi_vars(&head, &ServerInfo::new(addr, addr));
    vars.insert("SCRIPT_NAME".into(), "/cgi-bin".into());
    let environ = Environ::new(vars, io::empty());
    let script = Script {
        name: "s.py".into(),
        path: PathBuf::from("/srv/cgi-bin/s.py"),
        extra: "/p".into(),
    };
    let list = script_env(&environ, &script, input_len);
    let mut env = BTreeMap::new();
    for (name, value) in list {
        // No variable is passed twice, with two values to choose from.
        assert!(!env.contains_key(&name), "{name} twice");
        env.insert(name, value);
    }
    env
}

#[test]
fn a_dechunked_body_has_a_length_and_no_transfer_coding() {
    let env = env_for(
        &[
            ("Transfer-Encoding", "chunked"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Expect", "100-continue"),
            ("Trailer", "X-Sum"),
        ],
        Framing::Chunked,
        8,
    );
    assert_eq!(env.get("CONTENT_LENGTH").map(String::as_str), Some("8"));
    assert_eq!(
        env.get("CONTENT_TYPE").map(String::as_str),
        Some("application/x-www-form-urlencoded")
    );
    for gone in [
        "HTTP_TRANSFER_ENCODING",
        "HTTP_EXPECT",
        "HTTP_TRAILER",
        "HTTP_CONTENT_LENGTH",
        "HTTP_CONTENT_TYPE",
    ] {
        assert!(!env.contains_key(gone), "{gone}: {env:?}");
    }
}

#[test]
fn lengths_are_the_bodys() {
    let env = env_for(&[("Content-Length", "3")], Framing::Length(3), 3);
    assert_eq!(env.get("CONTENT_LENGTH").map(String::as_str), Some("3"));
    assert!(!env.contains_key("HTTP_CONTENT_LENGTH"));
    // An empty body that was announced is announced as empty.
    let env = env_for(&[("Content-Length", "0")], Framing::Length(0), 0);
    assert_eq!(env.get("CONTENT_LENGTH").map(String::as_str), Some("0"));
    // No body, no CONTENT_LENGTH (RFC 3875 §4.1.2).
    let env = env_for(&[], Framing::None, 0);
    assert!(!env.contains_key("CONTENT_LENGTH"), "{env:?}");
}

#[test]
fn hop_by_hop_fields_stay_with_the_connection() {
    let env = env_for(
        &[
            ("Connection", "keep-alive, X-Trace"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Upgrade", "websocket"),
            ("Proxy-Connection", "keep-alive"),
            ("X-Trace", "1"),
            ("Proxy", "http://evil.example/"),
            ("Cookie", "a=1"),
            ("Accept", "text/html"),
        ],
        Framing::None,
        0,
    );
    for gone in [
        "HTTP_CONNECTION",
        "HTTP_KEEP_ALIVE",
        "HTTP_TE",
        "HTTP_UPGRADE",
        "HTTP_PROXY_CONNECTION",
        "HTTP_X_TRACE",
        "HTTP_PROXY",
    ] {
        assert!(!env.contains_key(gone), "{gone}: {env:?}");
    }
    assert_eq!(env.get("HTTP_COOKIE").map(String::as_str), Some("a=1"));
    assert_eq!(
        env.get("HTTP_ACCEPT").map(String::as_str),
        Some("text/html")
    );
    assert_eq!(env.get("HTTP_HOST").map(String::as_str), Some("x"));
}

#[test]
fn the_script_gets_its_own_names_and_nothing_of_ours() {
    let env = env_for(&[], Framing::None, 0);
    let get = |name: &str| env.get(name).map(String::as_str);
    assert_eq!(get("SCRIPT_NAME"), Some("/cgi-bin/s.py"));
    assert_eq!(get("PATH_INFO"), Some("/p"));
    assert_eq!(get("QUERY_STRING"), Some("q=1"));
    assert_eq!(get("SCRIPT_FILENAME"), Some("/srv/cgi-bin/s.py"));
    assert_eq!(get("GATEWAY_INTERFACE"), Some("CGI/1.1"));
    assert_eq!(get("REQUEST_METHOD"), Some("POST"));
    assert!(env.contains_key("PATH"));
    assert!(!env.contains_key("HOME") && !env.contains_key("CARGO"));
}
