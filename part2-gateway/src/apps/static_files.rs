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
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::environ::{Environ, split_target};
use crate::gateway::{App, Body, Headers, StartResponse};
use crate::rfc::{http_date, text_error};

mod precondition;
mod range;

use precondition::{Decision, Validators};
use range::Ranged;

/// How much of a file is read per body chunk: large enough that the
/// per-chunk cost vanishes, small enough that a huge file never sits in
/// memory.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The app that serves the files under a root directory by `PATH_INFO`.
///
/// `GET` and `HEAD` only; a file carries `ETag` and `Last-Modified`, so
/// conditional requests get `304 Not Modified` or `412 Precondition
/// Failed`, and a single byte range gets `206 Partial Content`; a
/// directory is served through its `index.html`. Nothing outside the
/// root is ever served, whatever the path says.
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
            return text_error(start_response, 405, vec![allow]);
        }
        match self.resolve(environ) {
            Ok(Resolved::File(path, meta)) => {
                serve(environ, start_response, &path, &meta)
            }
            Ok(Resolved::AddSlash) => {
                redirect_with_slash(environ, start_response)
            }
            Err(refusal) => {
                text_error(start_response, refusal.status(), vec![])
            }
        }
    }
}

// ANCHOR: static-serve
/// Answers with the file, or the part of it asked for: its headers,
/// then its bytes, streamed. Validators and conditions are in
/// [`precondition`], ranges in [`range`].
fn serve(
    environ: &Environ<'_>,
    start_response: &mut StartResponse,
    path: &Path,
    meta: &Metadata,
) -> Body {
    // Open before answering, even for HEAD and 304, so that a file the
    // server may not read is a 403 whatever the method.
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            return text_error(start_response, refusal(e).status(), vec![]);
        }
    };
    let file_info = Validators::of(meta, SystemTime::now());
    let mut headers: Headers = Vec::new();
    if let Some(etag) = &file_info.etag {
        headers.push(("ETag".into(), etag.clone()));
    }
    match precondition::evaluate(environ, &file_info) {
        Decision::Proceed => {}
        // No body, and of the metadata only the tag: the client keeps
        // the copy it has (RFC 9110 §15.4.5).
        Decision::NotModified => {
            start_response.start("304 Not Modified", headers);
            return Body::Empty;
        }
        Decision::Failed => return text_error(start_response, 412, vec![]),
    }
    // ANCHOR_END: static-serve
    // ANCHOR: static-send
    if let Some(modified) = file_info.modified {
        headers.push(("Last-Modified".into(), http_date(modified)));
    }
    headers.push(("Content-Type".into(), content_type(path)));
    headers.push(("Accept-Ranges".into(), "bytes".into()));
    let len = meta.len();
    let (status, first, count) = match requested_range(environ, &file_info, len)
    {
        Ranged::Whole => ("200 OK", 0, len),
        Ranged::Part { first, last } => {
            headers.push(range::content_range(Some((first, last)), len));
            ("206 Partial Content", first, last - first + 1)
        }
        Ranged::Unsatisfiable => {
            let all = range::content_range(None, len);
            return text_error(start_response, 416, vec![all]);
        }
    };
    if first > 0 && file.seek(SeekFrom::Start(first)).is_err() {
        return text_error(start_response, 500, vec![]);
    }
    headers.push(("Content-Length".into(), count.to_string()));
    start_response.start(status, headers);
    if environ.is_head() {
        return Body::Empty; // same head as GET; the file closes unread
    }
    // `take` caps the stream at the length we announced: a file that
    // grows meanwhile must not overrun its Content-Length.
    Body::from_reader(file.take(count), CHUNK_SIZE)
}
// ANCHOR_END: static-send

/// The `Range` a GET asks for, if `If-Range` lets it apply (RFC 9110
/// §13.1.5, §14.2). Ranges are defined for GET only: a HEAD gets the
/// head of the whole file.
fn requested_range(
    environ: &Environ<'_>,
    file_info: &Validators,
    len: u64,
) -> Ranged {
    let Some(value) = environ.get("HTTP_RANGE") else {
        return Ranged::Whole;
    };
    let if_range = environ.get("HTTP_IF_RANGE");
    if environ.method() != "GET"
        || if_range.is_some_and(|v| !precondition::if_range_holds(v, file_info))
    {
        return Ranged::Whole;
    }
    range::ranged(value, len)
}

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
    text_error(start_response, 301, headers)
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

#[cfg(test)]
mod tests;
