//! One log line per request, in the Common Log Format that Apache, nginx
//! and Python's `http.server` write:
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026:21:23:35 +0000] "GET /hello HTTP/1.1" 200 14
//! ```

use std::io::Write;
use std::net::IpAddr;

use crate::request::RequestHead;

// ANCHOR: access-line
/// The Common Log Format line for one response (no newline).
///
/// `head` is `None` when the request could not be parsed; the request
/// field is then `-`.
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

// ANCHOR: access-line
/// Appends the Common Log Format line for one response to `out` (no
/// newline), without allocating: a busy server writes one per request.
pub fn push_access_line(
    out: &mut String,
    client: IpAddr,
    head: Option<&RequestHead>,
    status: u16,
    body_bytes: u64,
) {
    use std::fmt::Write as _;
    push_ip(out, client);
    out.push_str(" - - [");
    with_log_time(|time| out.push_str(time));
    out.push_str("] \"");
    match head {
        Some(h) => {
            out.push_str(&h.method);
            out.push(' ');
            // A target may hold `"` or control bytes; escape them so the
            // line stays one line that log tools can split.
            let plain = h
                .target
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
            if plain {
                out.push_str(&h.target);
            } else {
                let _ = write!(out, "{}", h.target.escape_debug());
            }
            out.push(' ');
            out.push_str(h.version.as_str());
        }
        None => out.push('-'),
    }
    out.push_str("\" ");
    push_u64(out, u64::from(status));
    out.push(' ');
    push_u64(out, body_bytes);
}

/// Appends an address. IPv4 by hand: `Display` for addresses goes
/// through the formatting machinery, which costs more than the rest of
/// the line.
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u64(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends a number in decimal without the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}
// ANCHOR_END: access-line

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_common_log_format() {
        let ip: IpAddr = "10.0.0.255".parse().unwrap();
        let line = access_line(ip, None, 404, 1234567890);
        assert!(line.starts_with("10.0.0.255 - - ["), "{line}");
        assert!(line.ends_with("] \"-\" 404 1234567890"), "{line}");
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(access_line(v6, None, 200, 0).starts_with("::1 - - ["));
        let mut zero = String::new();
        push_u64(&mut zero, 0);
        assert_eq!(zero, "0");
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
