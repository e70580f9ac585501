//! The shipped apps through a real server: the demo map, static files
//! (with every traversal trick), CGI scripts and the Python WSGI app.

use tests::client::request;
use tests::{Options, check};

fn demo() -> Options {
    Options::app("demo")
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()
}

check!(
    demo_index_links_everything,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let r = request(s.addr(), &get("/"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        let page = String::from_utf8(r.body).unwrap();
        for link in ["/hello", "/environ", "/sleep", "/static/", "/cgi-bin/"] {
            assert!(page.contains(&format!("href=\"{link}")), "{link}");
        }
        assert_eq!(request(s.addr(), &get("/nowhere")).status, 404);
        assert_eq!(request(s.addr(), &get("/hello")).body, b"Hello, World!\n");
    }
);

check!(
    static_file_with_type_and_304,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let r = request(s.addr(), &get("/static/hello.txt"));
        assert_eq!(r.status, 200);
        assert!(r.header("Content-Type").unwrap().starts_with("text/plain"));
        let modified = r
            .header("Last-Modified")
            .expect("Last-Modified")
            .to_string();
        let again = format!(
            "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {modified}\r\n\r\n"
        );
        let r = request(s.addr(), again.as_bytes());
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        let post = b"POST /static/hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        let r = request(s.addr(), post);
        assert_eq!(r.status, 405);
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    }
);

check!(
    static_never_leaves_the_root,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        for attack in [
            "/static/../../../../etc/passwd",
            "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/static/..%2f..%2f..%2fetc%2fpasswd",
            "/static/%2fetc%2fpasswd",
            "/static//etc/passwd",
            "/static/..%5c..%5cetc%5cpasswd",
            "/static/hello.txt%00.html",
        ] {
            let r = request(s.addr(), &get(attack));
            assert!(
                [400, 403, 404].contains(&r.status),
                "{attack}: {}",
                r.status
            );
            assert!(
                !String::from_utf8_lossy(&r.body).contains("root:"),
                "{attack}"
            );
        }
    }
);

// Unix only: Windows has no `sh` to run the script with.
#[cfg(unix)]
check!(
    cgi_shell_script,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let r = request(s.addr(), &get("/cgi-bin/hello.sh/extra?x=1"));
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
        assert!(!r.body.is_empty());
    }
);

check!(
    python_wsgi_app_through_cgi,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let r = request(s.addr(), &get("/cgi-bin/wsgi_app.py/any/path?x=1"));
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
        let page = String::from_utf8_lossy(&r.body);
        assert!(page.contains("/any/path"), "{page}");
        let post = b"POST /cgi-bin/wsgi_app.py HTTP/1.1\r\nHost: x\r\n\
        Content-Type: text/plain\r\nContent-Length: 18\r\n\r\nApples to Oranges!";
        let r = request(s.addr(), post);
        assert!(
            String::from_utf8_lossy(&r.body).contains("Apples to Oranges!")
        );
    }
);

check!(
    gzip_when_asked,
    [Part2, Part3, Part4],
    options(demo()),
    |s| {
        let req =
        b"GET /environ HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n";
        let r = request(s.addr(), req);
        assert_eq!(r.header("Content-Encoding"), Some("gzip"));
        assert_eq!(&r.body[..2], &[0x1f, 0x8b], "gzip magic");
        let plain = request(s.addr(), &get("/environ"));
        assert_eq!(plain.header("Content-Encoding"), None);
        assert!(
            String::from_utf8_lossy(&plain.body).contains("REQUEST_METHOD=GET")
        );
    }
);
