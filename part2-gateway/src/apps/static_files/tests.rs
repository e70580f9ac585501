//! Unit tests of the static app: what it serves, and what it never does.

use super::*;
use crate::apps::test_dir::TempDir;
use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, TimeDelta, Utc};

use crate::rfc::parse_http_date;

mod conditional;

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

/// A site: `root/` with files, and a secret next to (outside) it.
fn site() -> (TempDir, StaticFiles) {
    let tmp = TempDir::new("static");
    let root = tmp.0.join("root");
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::create_dir_all(root.join("empty")).unwrap();
    fs::write(root.join("hello.txt"), "hello\n").unwrap();
    fs::write(root.join("style.css"), "body {}\n").unwrap();
    fs::write(root.join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    fs::write(root.join(".env"), "SECRET=1\n").unwrap();
    fs::write(root.join("docs/index.html"), "<h1>docs</h1>\n").unwrap();
    fs::write(tmp.0.join("secret.txt"), "top secret\n").unwrap();
    let app = StaticFiles::new(&root).unwrap();
    (tmp, app)
}

/// Runs the app on `method target`, with extra variables.
fn run(
    app: &StaticFiles,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
) -> (StartResponse, Vec<u8>) {
    let mut environ = Environ::for_test(method, target);
    for (k, v) in extra {
        environ.set(k, *v);
    }
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    (sr, body.into_bytes().unwrap())
}

fn status(sr: &StartResponse) -> u16 {
    sr.parsed_status().unwrap().0
}

#[test]
fn serves_a_file_with_its_headers() {
    let (_tmp, app) = site();
    let (sr, body) = run(&app, "GET", "/hello.txt", &[]);
    assert_eq!(status(&sr), 200);
    assert_eq!(body, b"hello\n");
    assert_eq!(sr.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(sr.header("Content-Length"), Some("6"));
    let modified = sr.header("Last-Modified").unwrap();
    assert!(modified.ends_with(" GMT"), "{modified}");
    let (sr, _) = run(&app, "GET", "/style.css", &[]);
    assert_eq!(sr.header("Content-Type"), Some("text/css; charset=utf-8"));
    let (sr, body) = run(&app, "GET", "/logo.png", &[]);
    assert_eq!(sr.header("Content-Type"), Some("image/png"));
    assert_eq!(body.len(), 4);
}

#[test]
fn the_body_streams_in_chunks() {
    let (tmp, app) = site();
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    fs::write(tmp.0.join("root/big.bin"), &big).unwrap();
    let mut environ = Environ::for_test("GET", "/big.bin");
    let mut sr = StartResponse::new();
    let Body::Stream(chunks) = app.handle(&mut environ, &mut sr) else {
        panic!("not streamed");
    };
    let chunks: Vec<Vec<u8>> = chunks.map(|c| c.unwrap()).collect();
    assert!(chunks.len() >= 4);
    assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
    assert_eq!(chunks.concat(), big);
    assert_eq!(sr.header("Content-Length"), Some("200000"));
}

#[test]
fn head_gives_the_headers_without_the_body() {
    let (_tmp, app) = site();
    let mut environ = Environ::for_test("HEAD", "/hello.txt");
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    assert!(matches!(body, Body::Empty));
    assert_eq!(status(&sr), 200);
    assert_eq!(sr.header("Content-Length"), Some("6"));
}

#[test]
fn other_methods_are_not_allowed() {
    let (_tmp, app) = site();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let (sr, _) = run(&app, method, "/hello.txt", &[]);
        assert_eq!(status(&sr), 405, "{method}");
        assert_eq!(sr.header("Allow"), Some("GET, HEAD"));
    }
}

#[test]
fn if_modified_since() {
    let (tmp, app) = site();
    let modified = DateTime::<Utc>::from(mtime(&tmp.0.join("root/hello.txt")));
    let same = http_date(modified);
    let later = http_date(modified + TimeDelta::seconds(60));
    let earlier = http_date(modified - TimeDelta::seconds(60));
    for (since, expect) in [(&same, 304), (&later, 304), (&earlier, 200)] {
        let ims = [("HTTP_IF_MODIFIED_SINCE", since.as_str())];
        let (sr, body) = run(&app, "GET", "/hello.txt", &ims);
        assert_eq!(status(&sr), expect, "{since}");
        if expect == 304 {
            assert!(body.is_empty());
            assert_eq!(sr.header("Content-Length"), None);
        }
    }
    // An invalid date is ignored, as is the header under If-None-Match.
    let bad = [("HTTP_IF_MODIFIED_SINCE", "yesterday")];
    assert_eq!(status(&run(&app, "GET", "/hello.txt", &bad).0), 200);
    let inm = [
        ("HTTP_IF_MODIFIED_SINCE", same.as_str()),
        ("HTTP_IF_NONE_MATCH", "\"x\""),
    ];
    assert_eq!(status(&run(&app, "GET", "/hello.txt", &inm).0), 200);
}

#[test]
fn directories_serve_their_index() {
    let (_tmp, app) = site();
    let (sr, body) = run(&app, "GET", "/docs/", &[]);
    assert_eq!(status(&sr), 200);
    assert_eq!(body, b"<h1>docs</h1>\n");
    assert_eq!(sr.header("Content-Type"), Some("text/html; charset=utf-8"));
    // No index, no listing.
    assert_eq!(status(&run(&app, "GET", "/empty/", &[]).0), 404);
}

#[test]
fn a_directory_without_its_slash_is_redirected() {
    let (_tmp, app) = site();
    let (sr, _) = run(&app, "GET", "/docs?x=1", &[]);
    assert_eq!(status(&sr), 301);
    assert_eq!(sr.header("Location"), Some("/docs/?x=1"));
    // Mounted under /static, with PATH_INFO empty for the root.
    let mounted = [("SCRIPT_NAME", "/static"), ("PATH_INFO", "")];
    let (sr, _) = run(&app, "GET", "/static", &mounted);
    assert_eq!(status(&sr), 301);
    assert_eq!(sr.header("Location"), Some("/static/"));
}

#[test]
fn missing_files_are_404() {
    let (_tmp, app) = site();
    let (sr, body) = run(&app, "GET", "/nope.txt", &[]);
    assert_eq!(status(&sr), 404);
    assert_eq!(body, b"404 Not Found\n");
    assert_eq!(sr.header("Content-Type"), Some("text/plain; charset=utf-8"));
    // A file used as a directory.
    assert_eq!(status(&run(&app, "GET", "/hello.txt/x", &[]).0), 404);
}

#[test]
fn nothing_outside_the_root_is_served() {
    let (tmp, app) = site();
    let secret = tmp.0.join("secret.txt");
    let secret = secret.to_str().unwrap();
    let tries: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/../secret.txt".into(), vec![]),
        ("/docs/../../secret.txt".into(), vec![]),
        ("/../../../../../../etc/passwd".into(), vec![]),
        // %2e%2e arrives decoded in PATH_INFO.
        ("/%2e%2e/secret.txt".into(), vec![]),
        ("/%2E%2E/%2e%2e/etc/passwd".into(), vec![]),
        // An encoded slash, seen in the raw target.
        ("/..%2fsecret.txt".into(), vec![]),
        ("/docs%2F..%2F..%2Fsecret.txt".into(), vec![]),
        ("/..%5csecret.txt".into(), vec![]),
        // An absolute path must not replace the root.
        (format!("/{secret}"), vec![]),
        (format!("/{}", secret.trim_start_matches('/')), vec![]),
        ("//etc/passwd".into(), vec![]),
        ("/x".into(), vec![("PATH_INFO", secret)]),
        // NUL and backslashes.
        ("/hello.txt%00.png".into(), vec![]),
        ("/x".into(), vec![("PATH_INFO", "/hello.txt\0")]),
        ("/..\\secret.txt".into(), vec![]),
        ("/x".into(), vec![("PATH_INFO", "\\..\\secret.txt")]),
        // Hidden files.
        ("/.env".into(), vec![]),
    ];
    for (target, extra) in &tries {
        let (sr, body) = run(&app, "GET", target, extra);
        let code = status(&sr);
        assert!(code == 404 || code == 400, "{target} {extra:?}: {code}");
        assert!(!body.windows(6).any(|w| w == b"secret"), "{target}");
    }
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_not_followed() {
    use std::os::unix::fs::symlink;
    let (tmp, app) = site();
    let root = tmp.0.join("root");
    symlink(tmp.0.join("secret.txt"), root.join("out.txt")).unwrap();
    symlink(&tmp.0, root.join("up")).unwrap();
    symlink("/etc", root.join("etc")).unwrap();
    symlink(root.join("hello.txt"), root.join("in.txt")).unwrap();
    symlink(root.join("docs"), root.join("manual")).unwrap();
    for target in ["/out.txt", "/up/secret.txt", "/etc/passwd", "/up/"] {
        let (sr, body) = run(&app, "GET", target, &[]);
        assert_eq!(status(&sr), 404, "{target}");
        assert!(!body.windows(6).any(|w| w == b"secret"), "{target}");
    }
    // Links that stay inside are fine.
    let (sr, body) = run(&app, "GET", "/in.txt", &[]);
    assert_eq!((status(&sr), body.as_slice()), (200, &b"hello\n"[..]));
    let (sr, _) = run(&app, "GET", "/manual/", &[]);
    assert_eq!(status(&sr), 200);
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_forbidden() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, app) = site();
    let path = tmp.0.join("root/locked.txt");
    fs::write(&path, "locked").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&path).is_ok() {
        // Running as root: permissions do not apply; nothing to test.
        return;
    }
    assert_eq!(status(&run(&app, "GET", "/locked.txt", &[]).0), 403);
    assert_eq!(status(&run(&app, "HEAD", "/locked.txt", &[]).0), 403);
}

#[test]
fn the_root_must_be_a_directory() {
    let (tmp, _app) = site();
    assert!(StaticFiles::new(tmp.0.join("secret.txt")).is_err());
    assert!(StaticFiles::new(tmp.0.join("missing")).is_err());
}

#[test]
fn a_bare_environ_is_handled() {
    // No REQUEST_URI, no PATH_INFO: the root itself, which redirects.
    let (_tmp, app) = site();
    let mut environ = Environ::new(BTreeMap::new(), io::empty());
    let mut sr = StartResponse::new();
    let _ = app.handle(&mut environ, &mut sr);
    assert_eq!(status(&sr), 301);
    assert_eq!(sr.header("Location"), Some("/"));
}
