//! Serving files from a directory: the first app most servers ship.
//!
//! It looks simple (join the path to a root, open the file) and is where
//! many servers have had their worst bugs: a path such as `/../etc/passwd`
//! or a symlink that leads out of the root hands a stranger any file the
//! server can read. So the path is checked segment by segment, and the
//! file finally opened is checked to lie under the root.
//!
//! Directories are served through their `index.html` only: there are no
//! generated listings, because a listing shows files the author may not
//! have meant to publish.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::environ::{Environ, split_target};
use crate::error::reason;
use crate::gateway::{App, Body, Headers, StartResponse};

/// How much of a file is read per body chunk: large enough that the
/// per-chunk cost vanishes, small enough that a huge file never sits in
/// memory.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The app that serves the files under a root directory by `PATH_INFO`.
///
/// `GET` and `HEAD` only; `If-Modified-Since` is honoured with
/// `304 Not Modified`; a directory is served through its `index.html`.
/// Nothing outside the root is ever served, whatever the path says.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    /// The root, canonical (absolute, no symlinks, no `..`), so that
    /// "is this file under the root?" is a plain prefix test.
    root: PathBuf,
}

/// Why a request path is not served, and with which status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The path is malformed (NUL, backslash, encoded slash): 400.
    BadPath,
    /// Nothing to serve there, or nothing we will admit to: 404.
    NotFound,
    /// The file exists but the server may not read it: 403.
    Forbidden,
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Refusal::BadPath => 400,
            Refusal::NotFound => 404,
            Refusal::Forbidden => 403,
        }
    }
}

/// What a request path resolved to.
#[derive(Debug)]
enum Resolved {
    /// A regular file under the root, with its metadata.
    File(PathBuf, Metadata),
    /// A directory asked for without its trailing slash.
    AddSlash,
}

impl StaticFiles {
    /// Serves the files under `root`, which must be a directory.
    ///
    /// The root is canonicalized now, once: the containment check of
    /// every request compares against it.
    pub fn new(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles { root })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    // ANCHOR: static-resolve
    /// Maps a request to a file under the root, or says why not.
    fn resolve(&self, environ: &Environ<'_>) -> Result<Resolved, Refusal> {
        // PATH_INFO is already percent-decoded, so `%2e%2e` arrives here
        // as `..` and is caught below. But a decoded `%2f` is
        // indistinguishable from a real `/`, so look at the raw target
        // for encoded separators and NUL, which no honest link contains.
        let raw = environ.get("REQUEST_URI").unwrap_or("");
        let (raw_path, _) = split_target(raw);
        let lower = raw_path.to_ascii_lowercase();
        if ["%2f", "%5c", "%00"].iter().any(|e| lower.contains(e)) {
            return Err(Refusal::BadPath);
        }
        let path_info = environ.path_info();
        if path_info.contains(['\0', '\\']) {
            return Err(Refusal::BadPath);
        }
        // Build the path from the segments ourselves: `root.join(p)`
        // with an absolute `p` would *replace* the root. Empty segments
        // (`//`) are skipped; any segment starting with a dot is
        // refused, which covers `..` (escape) and `.` as well as hidden
        // files such as `.git` or `.env`.
        let mut path = self.root.clone();
        for segment in path_info.split('/').filter(|s| !s.is_empty()) {
            if segment.starts_with('.') {
                return Err(Refusal::NotFound);
            }
            path.push(segment);
        }
        let meta = fs::metadata(&path).map_err(refusal)?;
        if meta.is_dir() {
            if !path_info.ends_with('/') {
                return Ok(Resolved::AddSlash);
            }
            path.push("index.html");
        }
        // The segments were clean, but a symlink on the way may still
        // lead out of the root: resolve every link and check where we
        // really are. A link inside the root to inside the root is fine.
        let real = fs::canonicalize(&path).map_err(refusal)?;
        if !real.starts_with(&self.root) {
            return Err(Refusal::NotFound);
        }
        let meta = fs::metadata(&real).map_err(refusal)?;
        // Only regular files: not directories, FIFOs or devices (a FIFO
        // would block the server forever on open).
        if !meta.is_file() {
            return Err(Refusal::NotFound);
        }
        Ok(Resolved::File(real, meta))
    }
    // ANCHOR_END: static-resolve
}

/// The refusal an I/O error stands for.
fn refusal(error: io::Error) -> Refusal {
    match error.kind() {
        io::ErrorKind::PermissionDenied => Refusal::Forbidden,
        _ => Refusal::NotFound,
    }
}

impl App for StaticFiles {
    fn handle(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse,
    ) -> Body {
        let method = environ.method().to_string();
        if method != "GET" && method != "HEAD" {
            let allow = ("Allow".to_string(), "GET, HEAD".to_string());
            return error(start_response, 405, vec![allow]);
        }
        match self.resolve(environ) {
            Ok(Resolved::File(path, meta)) => {
                serve(environ, start_response, &path, &meta, &method)
            }
            Ok(Resolved::AddSlash) => {
                redirect_with_slash(environ, start_response)
            }
            Err(refusal) => error(start_response, refusal.status(), vec![]),
        }
    }
}

// ANCHOR: static-serve
/// Answers with the file: its headers, then its bytes, streamed.
fn serve(
    environ: &Environ<'_>,
    start_response: &mut StartResponse,
    path: &Path,
    meta: &Metadata,
    method: &str,
) -> Body {
    // Open before answering, even for HEAD and 304, so that a file the
    // server may not read is a 403 whatever the method.
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => return error(start_response, refusal(e).status(), vec![]),
    };
    let modified = meta.modified().ok().map(DateTime::<Utc>::from);
    let mut headers: Headers = Vec::new();
    if let Some(modified) = modified {
        headers.push(("Last-Modified".into(), http_date(modified)));
        if not_modified_since(environ, modified) {
            // 304 carries no body and no Content-Type/Length of its own;
            // the client reuses the copy it has.
            start_response.start("304 Not Modified", headers);
            return Body::Empty;
        }
    }
    headers.push(("Content-Type".into(), content_type(path)));
    headers.push(("Content-Length".into(), meta.len().to_string()));
    start_response.start("200 OK", headers);
    if method == "HEAD" {
        // Same head as GET, and the file is closed unread.
        return Body::Empty;
    }
    // `take` caps the stream at the length we announced: a file that
    // grows meanwhile must not overrun its Content-Length.
    Body::stream(FileChunks {
        file: file.take(meta.len()),
        buf_size: CHUNK_SIZE,
    })
}

/// A file as a stream of chunks, read one at a time as the server asks.
struct FileChunks {
    file: io::Take<File>,
    buf_size: usize,
}

impl Iterator for FileChunks {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = vec![0; self.buf_size];
        loop {
            return match self.file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(buf))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Some(Err(e)),
            };
        }
    }
}
// ANCHOR_END: static-serve

/// `Content-Type` from the file name; text gets its charset, so a
/// browser need not guess it (and guess wrong).
fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || essence == "application/javascript"
        || essence == "application/json";
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

/// Whether `If-Modified-Since` says the client's copy is current.
///
/// RFC 9110 §13.1.3: only for GET and HEAD; ignored when the date is
/// invalid, and ignored when `If-None-Match` is present (it takes
/// precedence, and we have no entity tags to compare).
fn not_modified_since(environ: &Environ<'_>, modified: DateTime<Utc>) -> bool {
    if environ.get("HTTP_IF_NONE_MATCH").is_some() {
        return false;
    }
    let Some(since) = environ.get("HTTP_IF_MODIFIED_SINCE") else {
        return false;
    };
    let Some(since) = parse_http_date(since) else {
        return false;
    };
    // The header has whole seconds; the file system has nanoseconds. A
    // file modified at 12:00:00.5 was sent as "12:00:00" and must still
    // match it.
    modified.timestamp() <= since.timestamp()
}

/// Formats a time as an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an HTTP-date: the IMF-fixdate senders must use, and the two
/// obsolete forms (RFC 850, asctime) recipients must still accept.
pub fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    const FORMATS: [&str; 3] = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ];
    let text = text.trim();
    FORMATS.iter().find_map(|format| {
        NaiveDateTime::parse_from_str(text, format)
            .ok()
            .map(|t| t.and_utc())
    })
}

/// `301` to the same path with a slash, so relative links inside the
/// directory's `index.html` resolve against the directory.
fn redirect_with_slash(
    environ: &Environ<'_>,
    start_response: &mut StartResponse,
) -> Body {
    // SCRIPT_NAME + PATH_INFO is the path the client asked for, wherever
    // the app is mounted; both are decoded, so encode them again.
    let mut location = format!(
        "{}{}/",
        environ.get("SCRIPT_NAME").unwrap_or(""),
        environ.path_info()
    );
    location = percent_encode_path(&location);
    if !environ.query_string().is_empty() {
        location.push('?');
        location.push_str(environ.query_string());
    }
    let headers = vec![("Location".to_string(), location)];
    error(start_response, 301, headers)
}

/// Percent-encodes what may not appear as is in a URL path.
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"/-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A short text/plain response for an error status (or a redirect).
fn error(
    start_response: &mut StartResponse,
    status: u16,
    extra: Headers,
) -> Body {
    let status_line = format!("{status} {}", reason(status));
    let text = format!("{status_line}\n");
    let mut headers = vec![(
        "Content-Type".to_string(),
        "text/plain; charset=utf-8".to_string(),
    )];
    headers.extend(extra);
    start_response.start(&status_line, headers);
    Body::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::test_dir::TempDir;
    use std::collections::BTreeMap;
    use std::time::SystemTime;

    use chrono::TimeDelta;

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
        assert_eq!(
            sr.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
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
        let modified =
            DateTime::<Utc>::from(mtime(&tmp.0.join("root/hello.txt")));
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
    fn http_dates_round_trip_and_obsolete_forms_parse() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        let rfc850 = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT");
        assert_eq!(rfc850, Some(t));
        let asctime = parse_http_date("Sun Nov  6 08:49:37 1994");
        assert_eq!(asctime, Some(t));
        assert_eq!(parse_http_date("06 Nov 1994"), None);
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
        assert_eq!(
            sr.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
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
}
