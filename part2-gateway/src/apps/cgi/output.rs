//! What a script writes to stdout: a header block, a blank line, then
//! the body (RFC 3875 §6).

use std::io::{self, Read};
use std::process::ChildStdout;

use super::process::Running;
use super::{CHUNK_SIZE, MAX_HEADER_BLOCK};
use crate::error::reason;
use crate::gateway::{Headers, parse_status};
use crate::rfc::is_token;

/// Reads stdout up to the blank line ending the header block. Returns
/// the block (without the blank line) and whatever was read past it.
pub(super) fn read_head(
    stdout: &mut impl Read,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0; 4096];
    loop {
        if let Some((head_end, body_start)) = find_blank_line(&buf) {
            let rest = buf.split_off(body_start);
            buf.truncate(head_end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEADER_BLOCK {
            return Err(format!("over {MAX_HEADER_BLOCK} bytes"));
        }
        match stdout.read(&mut chunk) {
            Ok(0) => return Err("output ended before the blank line".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Where the first empty line (`\n` or `\r\n`) is: the end of the header
/// block, and the start of the body after it.
pub(super) fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let mut start = 0;
    while let Some(i) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + i];
        if line.is_empty() || line == b"\r" {
            return Some((start, start + i + 1));
        }
        start += i + 1;
    }
    None
}

// ANCHOR: cgi-headers
/// Turns the script's header block into a status and response headers
/// (RFC 3875 §6.3): `Status` sets the status, `Location` alone means a
/// redirect, the other fields pass through.
pub(super) fn parse_head(head: &[u8]) -> Result<(String, Headers), String> {
    let text = std::str::from_utf8(head).map_err(|_| "not UTF-8")?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut status = None;
    let mut headers = Headers::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("no colon in {line:?}"));
        };
        // A token, so no spaces: this also refuses folded lines.
        if !is_token(name.as_bytes()) {
            return Err(format!("bad field name {name:?}"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!("control character in {name}"));
        }
        if name.eq_ignore_ascii_case("Status") {
            status = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("Content-Length")
            && value.parse::<u64>().is_err()
        {
            return Err(format!("bad Content-Length {value:?}"));
        } else {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let has = |n: &str| headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n));
    let status = match status {
        Some(status) => full_status(&status)?,
        // A Location with no Status is a redirect. (RFC 3875 would have
        // the server follow a local `/path` itself; a 302 is simpler and
        // just as correct for the client.)
        None if has("Location") => "302 Found".to_string(),
        None => "200 OK".to_string(),
    };
    let bodyless = status.starts_with('1')
        || status.starts_with("204")
        || status.starts_with("304");
    if !has("Content-Type") && !has("Location") && !bodyless {
        return Err("neither Content-Type nor Location".into());
    }
    Ok((status, headers))
}
// ANCHOR_END: cgi-headers

/// What the app makes of a script's output: [`read_head`], then
/// [`parse_head`]: the status, the header fields, and the first bytes
/// of the body read along with the block; or why the script gets a 502.
/// Public so that tests can feed it any bytes (`tests/fuzz.rs`).
pub fn parse_output(
    stdout: &mut impl Read,
) -> Result<(String, Headers, Vec<u8>), String> {
    let (head, rest) = read_head(stdout)?;
    let (status, headers) = parse_head(&head)?;
    Ok((status, headers, rest))
}

/// `Status: 404` gets its reason phrase; `Status: 299` (a code with no
/// phrase we know) keeps an empty one.
fn full_status(status: &str) -> Result<String, String> {
    let (code, phrase) =
        parse_status(status).ok_or_else(|| format!("bad Status {status:?}"))?;
    Ok(match (phrase, reason(code)) {
        ("", "Unknown") => format!("{code} "),
        ("", known) => format!("{code} {known}"),
        (phrase, _) => format!("{code} {phrase}"),
    })
}

// ANCHOR: cgi-body
/// The script's stdout after the header block, as a body stream.
pub(super) struct ScriptOutput {
    name: String,
    stdout: ChildStdout,
    /// Bytes read with the header block that belong to the body.
    first: Vec<u8>,
    running: Running,
    done: bool,
}

impl Iterator for ScriptOutput {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.first.is_empty() {
            return Some(Ok(std::mem::take(&mut self.first)));
        }
        let mut buf = vec![0; CHUNK_SIZE];
        loop {
            match self.stdout.read(&mut buf) {
                Ok(0) => return self.finish(),
                Ok(n) => {
                    buf.truncate(n);
                    return Some(Ok(buf));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl ScriptOutput {
    /// The output ended: reap the script, and turn a timeout into an
    /// error so the server aborts a response it cannot vouch for.
    fn finish(&mut self) -> Option<io::Result<Vec<u8>>> {
        self.done = true;
        let status = self.running.reap();
        if self.running.timed_out() {
            eprintln!("[cgi {}] timed out", self.name);
            let error =
                io::Error::new(io::ErrorKind::TimedOut, "CGI script timed out");
            return Some(Err(error));
        }
        if let Some(status) = status.filter(|s| !s.success()) {
            eprintln!("[cgi {}] exited with {status}", self.name);
        }
        None
    }
}
// ANCHOR_END: cgi-body

impl ScriptOutput {
    /// The body after the header block: `first` is what was read with
    /// the block, then the rest of `stdout`.
    pub(super) fn new(
        name: String,
        stdout: ChildStdout,
        first: Vec<u8>,
        running: Running,
    ) -> Self {
        ScriptOutput {
            name,
            stdout,
            first,
            running,
            done: false,
        }
    }
}
