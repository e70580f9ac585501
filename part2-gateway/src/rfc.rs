//! Small rules of HTTP that several modules need, written once: which
//! bytes make a token, how a date and a number are written, and the
//! plain-text answer an app gives for an error status.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::error::reason;
use crate::gateway::{Body, Headers, StartResponse};

/// A `tchar` of RFC 9110 §5.6.2: the bytes a method or a field name is
/// made of.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A token (RFC 9110 §5.6.2): one or more `tchar`s.
pub fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|&b| is_tchar(b))
}

/// Formats a time as an IMF-fixdate (RFC 9110 §5.6.7), always in GMT:
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an HTTP-date: the IMF-fixdate senders must use, and the two
/// obsolete forms (RFC 850, asctime) recipients must still accept
/// (RFC 9110 §5.6.7).
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

// ANCHOR: date-cache
thread_local! {
    /// Today's `Date` value and the second it is for: every response
    /// needs one (RFC 9110 §6.6.1), and it changes once a second.
    static NOW: RefCell<(u64, String)> = const {
        RefCell::new((u64::MAX, String::new()))
    };
}

/// Appends the current time as an IMF-fixdate to `out`, formatted at
/// most once a second per thread.
pub fn push_date_now(out: &mut Vec<u8>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    NOW.with_borrow_mut(|(second, text)| {
        if *second != now {
            let secs = i64::try_from(now).unwrap_or(i64::MAX);
            let time = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            *second = now;
            *text = http_date(time);
        }
        out.extend_from_slice(text.as_bytes());
    });
}
// ANCHOR_END: date-cache

/// Appends `n` in decimal: a head writes a status and a length into a
/// byte buffer, where `write!` would need an `io::Write` detour.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
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
    out.extend_from_slice(&digits[at..]);
}

/// `"404 Not Found"`: a status code with the reason RFC 9110 gives it.
pub fn status_line(status: u16) -> String {
    format!("{status} {}", reason(status))
}

/// The answer an app gives for an error status (or a bare redirect):
/// the status line as a one-line text/plain body, plus `extra` headers
/// such as `Location` or `Allow`.
pub fn text_error(
    start_response: &mut StartResponse,
    status: u16,
    extra: Headers,
) -> Body {
    let line = status_line(status);
    let mut headers = vec![(
        "Content-Type".to_string(),
        "text/plain; charset=utf-8".to_string(),
    )];
    headers.extend(extra);
    start_response.start(&line, headers);
    Body::from(line + "\n")
}

#[cfg(test)]
mod tests;
