//! One log line per request, in the Common Log Format that Apache, nginx
//! and Python's `http.server` write:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:21:23:35 +0000] "GET /hello HTTP/1.1" 200 14
//! ```

use std::fmt::{self, Write as _};
use std::io::Write;
use std::net::IpAddr;

use crate::request::RequestHead;

// ANCHOR: access-line
/// Appends the Common Log Format line for one response to `out` (no
/// newline). `head` is `None` when the request could not be parsed; the
/// request field is then `-`.
pub fn push_access_line(
    out: &mut String,
    client: IpAddr,
    head: Option<&RequestHead>,
    status: u16,
    body_bytes: u64,
) {
    with_log_time(|time| {
        let request = RequestField(head);
        let _ = write!(
            out,
            "{client} - - [{time}] \"{request}\" {status} {body_bytes}"
        );
    });
}
// ANCHOR_END: access-line

/// [`push_access_line`] into a new string.
pub fn access_line(
    client: IpAddr,
    head: Option<&RequestHead>,
    status: u16,
    body_bytes: u64,
) -> String {
    let mut line = String::with_capacity(128);
    push_access_line(&mut line, client, head, status, body_bytes);
    line
}

/// The request field of a log line: `GET /path HTTP/1.1`, or `-`.
struct RequestField<'h>(Option<&'h RequestHead>);

impl fmt::Display for RequestField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(head) = self.0 else {
            return f.write_str("-");
        };
        // A target may hold `"` or control bytes; escaped, the line stays
        // one line that log tools can split.
        let plain = head
            .target
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
        let version = head.version.as_str();
        if plain {
            write!(f, "{} {} {version}", head.method, head.target)
        } else {
            let target = head.target.escape_debug();
            write!(f, "{} {target} {version}", head.method)
        }
    }
}

thread_local! {
    /// The formatted local time and the second it is for: formatting a
    /// date costs more than the rest of the line, and a busy server logs
    /// thousands of lines a second.
    static LOG_TIME: std::cell::RefCell<(i64, String)> =
        const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

/// Calls `f` with `21/Nov/2026:21:23:35 +0000`, formatted at most once
/// a second.
fn with_log_time(f: impl FnOnce(&str)) {
    // The UTC second is cheap to read; the local time zone is not.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    LOG_TIME.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != second {
            let now = chrono::Local::now();
            *cached = (second, now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
        }
        f(&cached.1);
    });
}

/// Writes a line to stdout, ignoring a closed pipe rather than panicking
/// as `println!` would.
pub fn stdout_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.write_all(b"\n");
}

/// Writes a line to stderr (dropped connections, app problems).
pub fn stderr_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}

/// Prefixes each line of a message head with `prefix` (`< ` for what
/// the client sent, `> ` for what we answer), as `curl -v` does.
pub fn dump_head(bytes: &[u8], prefix: &str) -> String {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(bytes.len(), |i| i + 2);
    part1_hello::server::quote(&bytes[..end], prefix)
}

#[cfg(test)]
mod tests;
