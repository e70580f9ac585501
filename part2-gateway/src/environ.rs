//! The environ: what the server tells the app about a request.
//!
//! Like WSGI's `environ` dict, it holds the CGI/1.1 meta-variables of
//! RFC 3875 §4.1 (`REQUEST_METHOD`, `PATH_INFO`, `HTTP_HOST` …) and the
//! request body as an input stream (`wsgi.input`). The CGI app hands the
//! same variables to a script as its environment.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::SocketAddr;

use crate::request::RequestHead;

/// Facts about the server side of a connection, for the environ.
///
/// Two addresses and nothing else, so it is `Copy`: every request of a
/// connection carries it without an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// The address the connection was accepted on (`SERVER_PORT`, and
    /// `SERVER_NAME` when the request has no `Host`).
    pub local_addr: SocketAddr,
    /// The client's address.
    pub remote_addr: SocketAddr,
}

impl ServerInfo {
    /// Facts for a connection accepted on `local` from `remote`.
    pub fn new(local: SocketAddr, remote: SocketAddr) -> Self {
        ServerInfo {
            local_addr: local,
            remote_addr: remote,
        }
    }
}

/// `SERVER_SOFTWARE`, and the `Server` header every response carries.
pub const SERVER_SOFTWARE: &str =
    concat!("socket-to-server/", env!("CARGO_PKG_VERSION"));

// ANCHOR: environ
/// The request as the app sees it: CGI meta-variables and the body.
pub struct Environ<'a> {
    /// The meta-variables, built from `request` the first time any of
    /// them is asked for: an app that never looks (like `hello`) never
    /// pays for twenty formatted strings. Go's `net/http` parses forms
    /// lazily for the same reason.
    vars: OnceCell<BTreeMap<String, String>>,
    /// Where the variables come from, until they are built.
    request: Option<(&'a RequestHead, ServerInfo)>,
    /// `wsgi.input`: the request body, decoded (no chunk framing).
    input: Input<'a>,
}
// ANCHOR_END: environ

impl<'a> Environ<'a> {
    /// An environ from variables and a body stream.
    pub fn new(
        vars: BTreeMap<String, String>,
        input: impl Read + Send + 'a,
    ) -> Self {
        Environ {
            vars: OnceCell::from(vars),
            request: None,
            input: Input::Stream(Box::new(input)),
        }
    }

    /// The environ for a parsed request whose body is already in memory
    /// (the event loops read it whole before the app runs): the same as
    /// [`from_request`](Self::from_request) with a cursor, without
    /// boxing a reader for every request.
    pub fn with_body(
        head: &'a RequestHead,
        info: &ServerInfo,
        body: Vec<u8>,
    ) -> Self {
        Environ {
            vars: OnceCell::new(),
            request: Some((head, *info)),
            input: Input::Bytes(io::Cursor::new(body)),
        }
    }

    /// The environ for a parsed request whose body the server holds
    /// whole elsewhere than in memory (part 3 spools a large body to a
    /// file): `body` reads its `len` bytes. Unlike a socket, it belongs
    /// to the request, so an app may take it ([`take_body`](Self::take_body)).
    pub fn with_body_reader(
        head: &'a RequestHead,
        info: &ServerInfo,
        body: impl Read + Send + 'static,
        len: u64,
    ) -> Self {
        Environ {
            vars: OnceCell::new(),
            request: Some((head, *info)),
            input: Input::Held(Held {
                reader: Box::new(body),
                left: len,
            }),
        }
    }

    /// The environ for a parsed request (see [`cgi_vars`]); the
    /// variables are built when first asked for.
    pub fn from_request(
        head: &'a RequestHead,
        info: &ServerInfo,
        input: impl Read + Send + 'a,
    ) -> Self {
        Environ {
            vars: OnceCell::new(),
            request: Some((head, *info)),
            input: Input::Stream(Box::new(input)),
        }
    }

    /// A variable, e.g. `environ.get("PATH_INFO")`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars().get(key).map(String::as_str)
    }

    /// Sets a variable (middleware such as the URL map rewrites some).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.vars();
        if let Some(vars) = self.vars.get_mut() {
            vars.insert(key.to_string(), value.into());
        }
    }

    /// All variables, sorted by name.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        self.vars.get_or_init(|| match &self.request {
            Some((head, info)) => cgi_vars(head, info),
            None => BTreeMap::new(),
        })
    }

    /// The body stream; reading it may send `100 Continue` first.
    pub fn input(&mut self) -> &mut (dyn Read + Send + 'a) {
        match &mut self.input {
            Input::Bytes(cursor) => cursor,
            Input::Held(held) => held,
            Input::Stream(reader) => &mut **reader,
        }
    }

    /// Takes the rest of the body, and how many bytes it has, when the
    /// server received it whole before the app ran (parts 3 and 4): a
    /// response can then stream it back without holding it, as `echo`
    /// does. `None` when the body is still on the socket (part 2), which
    /// only the server may hold; the input is then left as it was.
    pub fn take_body(&mut self) -> Option<(Box<dyn Read + Send>, u64)> {
        let empty = Input::Bytes(io::Cursor::new(Vec::new()));
        match std::mem::replace(&mut self.input, empty) {
            Input::Bytes(cursor) => {
                let len = cursor.get_ref().len() as u64;
                let left = len.saturating_sub(cursor.position());
                Some((Box::new(cursor), left))
            }
            Input::Held(held) => {
                let left = held.left;
                Some((Box::new(held), left))
            }
            stream @ Input::Stream(_) => {
                self.input = stream;
                None
            }
        }
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    pub fn read_body(&mut self, limit: u64) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        self.input()
            .take(limit.saturating_add(1))
            .read_to_end(&mut body)?;
        if body.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request body over the app's limit",
            ));
        }
        Ok(body)
    }

    /// `REQUEST_METHOD`.
    pub fn method(&self) -> &str {
        // Read straight from the request while the variables are not
        // built, so asking costs nothing.
        match (self.vars.get(), &self.request) {
            (None, Some((head, _))) => &head.method,
            _ => self.get("REQUEST_METHOD").unwrap_or("GET"),
        }
    }

    /// Whether this is a HEAD request: answer with the headers of a GET
    /// and an empty body (the server would drop a body anyway, but the
    /// validator holds apps to the contract).
    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    /// `PATH_INFO`: the path below the app's mount point, decoded.
    pub fn path_info(&self) -> &str {
        self.get("PATH_INFO").unwrap_or("")
    }

    /// `QUERY_STRING`, as sent (still percent-encoded).
    pub fn query_string(&self) -> &str {
        self.get("QUERY_STRING").unwrap_or("")
    }

    /// The first value of `name` in the query string, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_string().split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key) == name).then(|| percent_decode(value))
        })
    }

    /// An environ for `method target` with no body, for tests and docs.
    pub fn for_test(method: &str, target: &str) -> Environ<'static> {
        let head = RequestHead {
            method: method.to_string(),
            target: target.to_string(),
            version: crate::request::Version::Http11,
            headers: vec![("Host".into(), "localhost".into())],
            framing: crate::request::Framing::None,
            keep_alive: true,
            expect_continue: false,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], 8888));
        let info = ServerInfo::new(addr, addr);
        Environ::new(cgi_vars(&head, &info), io::empty())
    }
}

/// Where `wsgi.input` reads from.
enum Input<'a> {
    /// A body already in memory.
    Bytes(io::Cursor<Vec<u8>>),
    /// A body received whole and kept elsewhere, e.g. in a file.
    Held(Held),
    /// Anything else, e.g. the blocking server's socket reader.
    Stream(Box<dyn Read + Send + 'a>),
}

/// A body received whole, and how much of it is still to read.
struct Held {
    reader: Box<dyn Read + Send>,
    left: u64,
}

impl Read for Held {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(out)?;
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

// ANCHOR: cgi-vars
/// The CGI/1.1 meta-variables of a request (RFC 3875 §4.1).
pub fn cgi_vars(
    head: &RequestHead,
    info: &ServerInfo,
) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        vars.insert(k.to_string(), v);
    };
    let (path, query) = split_target(&head.target);
    set("GATEWAY_INTERFACE", "CGI/1.1".into());
    set("SERVER_SOFTWARE", SERVER_SOFTWARE.into());
    set("SERVER_PROTOCOL", head.version.as_str().into());
    set("REQUEST_METHOD", head.method.clone());
    set("REQUEST_URI", head.target.clone());
    set("SCRIPT_NAME", String::new());
    set("PATH_INFO", percent_decode(path));
    set("QUERY_STRING", query.to_string());
    set("SERVER_NAME", server_name(head, info));
    set("SERVER_PORT", info.local_addr.port().to_string());
    set("REMOTE_ADDR", info.remote_addr.ip().to_string());
    set("REMOTE_PORT", info.remote_addr.port().to_string());
    if let Some(kind) = head.header("Content-Type") {
        set("CONTENT_TYPE", kind.to_string());
    }
    if let crate::request::Framing::Length(n) = head.framing {
        set("CONTENT_LENGTH", n.to_string());
    }
    for (name, value) in &head.headers {
        // A header named with `_` could pose as another once `-` becomes
        // `_` (`Content_Type` vs `Content-Type`); like nginx, drop it.
        if name.contains('_') {
            continue;
        }
        let key =
            format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        if key == "HTTP_CONTENT_TYPE" || key == "HTTP_CONTENT_LENGTH" {
            continue;
        }
        // Repeated fields join into one list (RFC 9110 §5.3), except
        // cookies, whose list separator is `; ` (RFC 6265 §5.4).
        let separator = if key == "HTTP_COOKIE" { "; " } else { ", " };
        vars.entry(key)
            .and_modify(|v: &mut String| {
                v.push_str(separator);
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    // RFC 9112 §3.2.2: an absolute-form target names the host itself,
    // and the Host field is ignored.
    if let Some(authority) = target_authority(&head.target) {
        vars.insert("HTTP_HOST".into(), authority.to_string());
    }
    vars
}
// ANCHOR_END: cgi-vars

/// The authority of an absolute-form target: `x:8080` in
/// `http://x:8080/p`.
fn target_authority(target: &str) -> Option<&str> {
    let rest = strip_prefix_ignore_case(target, "http://")?;
    rest.split(['/', '?']).next()
}

/// Splits a request target into its path and query. An absolute-form
/// target (`http://host/p?q`, sent to proxies) gives its path too; `*`
/// (for `OPTIONS *`) gives an empty path.
pub fn split_target(target: &str) -> (&str, &str) {
    let mut rest = target;
    for scheme in ["http://", "https://"] {
        if let Some(after) = strip_prefix_ignore_case(target, scheme) {
            rest = after.find('/').map_or("/", |i| &after[i..]);
        }
    }
    if rest == "*" {
        return ("", "");
    }
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    rest.split_once('?').unwrap_or((rest, ""))
}

fn strip_prefix_ignore_case<'t>(
    text: &'t str,
    prefix: &str,
) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `SERVER_NAME`: the target's host or the `Host` header, without the
/// port, else our address.
fn server_name(head: &RequestHead, info: &ServerInfo) -> String {
    let host = target_authority(&head.target).or(head.header("Host"));
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return info.local_addr.ip().to_string();
    };
    if host.starts_with('[') {
        // [::1]:8888
        return host.split_once(']').map_or(host, |(h, _)| h).to_string() + "]";
    }
    host.split(':').next().unwrap_or(host).to_string()
}

/// Decodes `%XX` escapes; invalid escapes stay as they are, bytes that
/// are not UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
