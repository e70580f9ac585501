//! The bytes on the wire: showing them, and checking a server's answer.
//!
//! Everything here works on byte slices and knows nothing about sockets,
//! so it is tested with plain arrays, good and bad. The validator is
//! strict on purpose: it accepts what RFC 9112 says a server sends, not
//! what a lenient browser would put up with, because a teaching server
//! should be told when it is sloppy.

use std::fmt::Write as _;

/// The longest head line we wait for before calling the answer broken:
/// a server that never sends `\n` must not make us buffer forever.
const MAX_LINE: usize = 64 * 1024;

/// Appends one byte as it is shown: printable ASCII as itself, the
/// invisible bytes that matter in HTTP (`\r`, `\n`, `\t`) as escapes,
/// anything else as `\xNN`.
fn push_escaped(out: &mut String, byte: u8) {
    match byte {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        b'\\' => out.push_str("\\\\"),
        b' '..=b'~' => out.push(char::from(byte)),
        _ => {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

/// Shows bytes with `\r`, `\n` and non-printable bytes made visible, so
/// `GET / HTTP/1.1\r\n` reads exactly as it travels.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        push_escaped(&mut out, byte);
    }
    out
}

/// Escapes `bytes` as one string per line, each line keeping its
/// visible `\r\n`: how a transcript prints what was sent and received.
pub fn escape_lines(bytes: &[u8]) -> Vec<String> {
    bytes.split_inclusive(|&b| b == b'\n').map(escape).collect()
}

/// What is wrong with a response, and exactly where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// What is wrong, in one line.
    pub message: String,
    /// The offset of the first offending byte in the response's bytes;
    /// equal to their length when the problem is that bytes are missing.
    pub at: usize,
    /// How many bytes the problem spans (shown as at least one caret).
    pub len: usize,
}

impl Malformed {
    fn new(message: impl Into<String>, at: usize, len: usize) -> Self {
        Malformed {
            message: message.into(),
            at,
            len,
        }
    }

    /// Shows the problem the way a compiler shows an error: the line of
    /// `raw` that holds it, escaped, with carets under the exact bytes.
    ///
    /// ```text
    /// error: header line has no colon
    ///  --> response byte 17, line 2
    ///   |
    /// 2 | X-Broken header\r\n
    ///   | ^^^^^^^^^^^^^^^
    /// ```
    pub fn render(&self, raw: &[u8]) -> String {
        // Context around the problem; a body "line" may be megabytes.
        const CONTEXT: usize = 40;
        let at = self.at.min(raw.len());
        let line_start = raw[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| at + i + 1);
        let line_no =
            raw[..line_start].iter().filter(|&&b| b == b'\n').count() + 1;
        let span_end = (at + self.len.max(1)).min(line_end);
        let start = line_start.max(at.saturating_sub(CONTEXT));
        let end = line_end.min(span_end + CONTEXT);

        let mut text = String::new();
        if start > line_start {
            text.push_str("...");
        }
        let mut caret_col = text.len();
        let mut caret_width = 0;
        for (i, &byte) in raw[start..end].iter().enumerate() {
            let before = text.len();
            push_escaped(&mut text, byte);
            if start + i == at {
                caret_col = before;
            }
            if (at..span_end).contains(&(start + i)) {
                caret_width += text.len() - before;
            }
        }
        if at == end {
            // Past the last byte: the caret sits just after the text.
            caret_col = text.len();
        }
        if end < line_end {
            text.push_str("...");
        }
        let gutter = " ".repeat(line_no.to_string().len());
        format!(
            "error: {msg}\n{gutter}--> response byte {at}, line {line_no}\n\
             {gutter} |\n{line_no} | {text}\n{gutter} | {pad}{carets}\n",
            msg = self.message,
            pad = " ".repeat(caret_col),
            carets = "^".repeat(caret_width.max(1)),
        )
    }
}

/// One response, as the validator read it off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// The header fields in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The raw head, status line to the empty line, for the transcript.
    pub head: Vec<u8>,
    /// The body with any chunked framing removed.
    pub body: Vec<u8>,
    /// How many bytes of the input this response took, head and body.
    pub len: usize,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `HTTP/1.1 200 OK`, as the status line said it.
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
    }
}

/// A header line found in the head, with where its value starts, so a
/// framing problem can point at the header that caused it.
struct Field {
    name: String,
    value: String,
    value_at: usize,
    value_len: usize,
}

/// The bytes allowed in a header name (`tchar` in RFC 9110).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Finds the next CRLF-terminated line starting at `pos`.
///
/// `Ok(Some(end))` is the offset of its `\r`; `Ok(None)` means the line
/// is not all here yet.
fn line_end(
    buf: &[u8],
    pos: usize,
    eof: bool,
    what: &str,
) -> Result<Option<usize>, Malformed> {
    let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
        if eof {
            return Err(Malformed::new(
                format!("the connection closed in the middle of {what}"),
                buf.len(),
                0,
            ));
        }
        if buf.len() - pos > MAX_LINE {
            return Err(Malformed::new(
                format!("{what} is longer than {MAX_LINE} bytes"),
                pos,
                1,
            ));
        }
        return Ok(None);
    };
    let nl = pos + nl;
    // A bare LF is the most common sloppiness of hand-written servers.
    if nl == pos || buf[nl - 1] != b'\r' {
        return Err(Malformed::new(
            "line ends with a bare \\n; HTTP lines end with \\r\\n",
            nl,
            1,
        ));
    }
    Ok(Some(nl - 1))
}

/// Checks `HTTP/1.x NNN reason` in `line`, which starts at `at`.
fn status_line(
    line: &[u8],
    at: usize,
) -> Result<(String, u16, String), Malformed> {
    let bad = |i: usize, msg: &str| Malformed::new(msg, at + i, 1);
    for (i, &want) in b"HTTP/1.".iter().enumerate() {
        if line.get(i) != Some(&want) {
            return Err(bad(i, "a status line starts with HTTP/1.x"));
        }
    }
    if !line.get(7).is_some_and(u8::is_ascii_digit) {
        return Err(bad(7, "the HTTP version needs a minor digit: HTTP/1.x"));
    }
    if line.get(8) != Some(&b' ') {
        return Err(bad(8, "expected one space after the version"));
    }
    for i in 9..12 {
        if !line.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(bad(i, "the status code must be three digits"));
        }
    }
    if line.get(12) != Some(&b' ') {
        return Err(bad(12, "expected a space after the status code"));
    }
    if let Some(i) = line[13..]
        .iter()
        .position(|&b| b.is_ascii_control() && b != b'\t')
    {
        return Err(bad(13 + i, "control byte in the reason phrase"));
    }
    let code = &line[9..12];
    let status = u16::from(code[0] - b'0') * 100
        + u16::from(code[1] - b'0') * 10
        + u16::from(code[2] - b'0');
    if status < 100 {
        return Err(Malformed::new("status codes start at 100", at + 9, 3));
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((text(&line[..8]), status, text(&line[13..])))
}

/// Checks one `name: value` header line, which starts at `at`.
fn field(line: &[u8], at: usize) -> Result<Field, Malformed> {
    if line[0] == b' ' || line[0] == b'\t' {
        return Err(Malformed::new(
            "obsolete line folding: a header line starts with whitespace",
            at,
            1,
        ));
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(Malformed::new("header line has no colon", at, line.len()));
    };
    if let Some(i) = line[..colon].iter().position(|&b| !is_tchar(b)) {
        let msg = if line[i] == b' ' || line[i] == b'\t' {
            "whitespace is not allowed before the colon"
        } else {
            "byte not allowed in a header name"
        };
        return Err(Malformed::new(msg, at + i, 1));
    }
    if colon == 0 {
        return Err(Malformed::new("empty header name", at, 1));
    }
    let raw_value = &line[colon + 1..];
    if let Some(i) = raw_value
        .iter()
        .position(|&b| b.is_ascii_control() && b != b'\t')
    {
        return Err(Malformed::new(
            "control byte in a header value",
            at + colon + 1 + i,
            1,
        ));
    }
    let lead = raw_value
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let value = raw_value[lead..].trim_ascii_end();
    Ok(Field {
        name: String::from_utf8_lossy(&line[..colon]).into_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
        value_at: at + colon + 1 + lead,
        value_len: value.len(),
    })
}

/// Checks the response at the start of `buf`, an answer to `method`.
///
/// Returns `Ok(None)` while more bytes are needed, `Ok(Some(response))`
/// once one whole response is there (`response.len` bytes of `buf`; the
/// rest belongs to whatever follows), or where it is broken. `eof` says
/// the connection has closed, so no more bytes will come: a response
/// framed by the close ends there, and one still missing bytes is
/// truncated. An empty `buf` at `eof` is `Ok(None)`: no answer at all
/// is something to report, not a malformed answer.
pub fn parse_response(
    buf: &[u8],
    method: &str,
    eof: bool,
) -> Result<Option<Response>, Malformed> {
    if buf.is_empty() {
        return Ok(None);
    }
    // The head: a status line, header lines, an empty line.
    let mut pos = 0;
    let mut status = None;
    let mut fields = Vec::new();
    let head_len = loop {
        let Some(end) = line_end(buf, pos, eof, "the response head")? else {
            return Ok(None);
        };
        let line = &buf[pos..end];
        match status {
            None if line.is_empty() => {
                return Err(Malformed::new(
                    "empty line where the status line should be",
                    pos,
                    2,
                ));
            }
            None => status = Some(status_line(line, pos)?),
            Some(_) if line.is_empty() => break end + 2,
            Some(_) => fields.push(field(line, pos)?),
        }
        pos = end + 2;
    };
    let Some((version, status, reason)) = status else {
        unreachable!("the loop only ends after a status line");
    };
    let mut response = Response {
        version,
        status,
        reason,
        headers: fields
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect(),
        head: buf[..head_len].to_vec(),
        body: Vec::new(),
        len: head_len,
    };

    // The body: its framing, RFC 9112 section 6.3, in that order.
    let named = |name: &'static str| {
        fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    };
    if method == "HEAD"
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Some(response));
    }
    let te = named("transfer-encoding").next_back();
    let mut lengths = named("content-length");
    if let Some(te) = te {
        if let Some(cl) = lengths.next() {
            return Err(Malformed::new(
                "Content-Length together with Transfer-Encoding",
                cl.value_at,
                cl.value_len,
            ));
        }
        let last = te.value.rsplit(',').next().unwrap_or_default().trim();
        if last.eq_ignore_ascii_case("chunked") {
            return chunked(buf, head_len, eof, response);
        }
        return Ok(to_close(buf, eof, response));
    }
    let Some(first) = lengths.next() else {
        return Ok(to_close(buf, eof, response));
    };
    let length: usize = match first.value.parse() {
        Ok(n) if first.value.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(Malformed::new(
                "Content-Length is not a number",
                first.value_at,
                first.value_len.max(1),
            ));
        }
    };
    if let Some(other) = lengths.find(|f| f.value != first.value) {
        return Err(Malformed::new(
            "a second, different Content-Length",
            other.value_at,
            other.value_len.max(1),
        ));
    }
    let have = buf.len() - head_len;
    if have < length {
        if eof {
            return Err(Malformed::new(
                format!(
                    "the connection closed after {have} of the \
                     {length} body bytes Content-Length announced"
                ),
                buf.len(),
                0,
            ));
        }
        return Ok(None);
    }
    response.body = buf[head_len..head_len + length].to_vec();
    response.len = head_len + length;
    Ok(Some(response))
}

/// A body without a length ends when the connection does.
fn to_close(buf: &[u8], eof: bool, mut response: Response) -> Option<Response> {
    if !eof {
        return None;
    }
    response.body = buf[response.len..].to_vec();
    response.len = buf.len();
    Some(response)
}

/// Decodes a chunked body starting at `pos`.
fn chunked(
    buf: &[u8],
    mut pos: usize,
    eof: bool,
    mut response: Response,
) -> Result<Option<Response>, Malformed> {
    let mut body = Vec::new();
    loop {
        let Some(end) = line_end(buf, pos, eof, "a chunk size line")? else {
            return Ok(None);
        };
        let line = &buf[pos..end];
        // Chunk extensions (`;name=value`) are allowed and ignored.
        let digits = line.split(|&b| b == b';').next().unwrap_or_default();
        let digits = digits.trim_ascii_end();
        if let Some(i) = digits.iter().position(|b| !b.is_ascii_hexdigit()) {
            return Err(Malformed::new(
                "a chunk size must be hexadecimal",
                pos + i,
                1,
            ));
        }
        if digits.is_empty() || digits.len() > 15 {
            return Err(Malformed::new(
                "a chunk size must be 1 to 15 hex digits",
                pos,
                line.len().max(1),
            ));
        }
        let size = digits.iter().fold(0usize, |n, &b| {
            n * 16 + char::from(b).to_digit(16).unwrap_or(0) as usize
        });
        pos = end + 2;
        if size == 0 {
            break;
        }
        if buf.len() < pos + size + 2 {
            if eof {
                return Err(Malformed::new(
                    format!("the connection closed inside a {size}-byte chunk"),
                    buf.len(),
                    0,
                ));
            }
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size;
        if &buf[pos..pos + 2] != b"\r\n" {
            return Err(Malformed::new(
                "chunk data must end with \\r\\n",
                pos,
                2,
            ));
        }
        pos += 2;
    }
    // Trailer fields, then the empty line that ends the message.
    loop {
        let Some(end) = line_end(buf, pos, eof, "the trailer section")? else {
            return Ok(None);
        };
        if end == pos {
            response.body = body;
            response.len = end + 2;
            return Ok(Some(response));
        }
        field(&buf[pos..end], pos)?;
        pos = end + 2;
    }
}

/// The problem with bytes that arrived after the last framed response.
pub fn trailing(leftover_at: usize, leftover_len: usize) -> Malformed {
    Malformed::new(
        format!(
            "{leftover_len} byte(s) after the end of the last framed \
             response"
        ),
        leftover_at,
        leftover_len,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Option<Response>, Malformed> {
        parse_response(raw, "GET", true)
    }

    /// The caret line under `render`'s source line.
    fn caret_under(raw: &[u8], m: &Malformed) -> (String, String) {
        let text = m.render(raw);
        let lines: Vec<&str> = text.lines().collect();
        let src = lines[3].split_once("| ").unwrap().1.to_string();
        let caret = lines[4].split_once("| ").unwrap().1.to_string();
        (src, caret)
    }

    /// The bytes the carets point at, read back from the source line.
    fn pointed(raw: &[u8], m: &Malformed) -> String {
        let (src, caret) = caret_under(raw, m);
        let col = caret.find('^').unwrap();
        let width = caret.trim_start().len();
        src.get(col..col + width).unwrap_or("").to_string()
    }

    #[test]
    fn escape_shows_the_invisible() {
        assert_eq!(escape(b"GET / HTTP/1.1\r\n"), "GET / HTTP/1.1\\r\\n");
        assert_eq!(escape(b"a\tb\\\x00\xff"), "a\\tb\\\\\\x00\\xff");
        assert_eq!(
            escape_lines(b"A\r\nB\r\n\r\nbody"),
            ["A\\r\\n", "B\\r\\n", "\\r\\n", "body"]
        );
    }

    #[test]
    fn good_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let r = parse(raw).unwrap().unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, "OK"));
        assert_eq!((r.body.as_slice(), r.len), (&b"hello"[..], raw.len()));
        assert_eq!(r.header("content-length"), Some("5"));

        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let r = parse_response(raw, "GET", false).unwrap().unwrap();
        assert_eq!(r.body, b"abcde");
        assert_eq!(&raw[r.len..], b"NEXT");

        // Framed by the close: complete only at EOF.
        let raw = b"HTTP/1.0 200 OK\r\n\r\nuntil close";
        assert_eq!(parse_response(raw, "GET", false), Ok(None));
        assert_eq!(parse(raw).unwrap().unwrap().body, b"until close");

        // Bodyless answers, an empty reason, a partial response.
        let raw = b"HTTP/1.1 204 \r\nContent-Length: 9\r\n\r\n";
        assert_eq!(parse(raw).unwrap().unwrap().len, raw.len());
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(parse_response(raw, "HEAD", true).unwrap().unwrap().len, 38);
        assert_eq!(parse_response(b"HTTP/1.1 2", "GET", false), Ok(None));
        assert_eq!(parse_response(b"", "GET", true), Ok(None));
    }

    #[test]
    fn bad_status_lines() {
        for (raw, at, points) in [
            (&b"HTTP/2.0 200 OK\r\n\r\n"[..], 5, "2"),
            (b"HTTP/1.1 20 OK\r\n\r\n", 11, " "),
            (b"HTTP/1.1 200\r\n\r\n", 12, "\\r"),
            (b"http/1.1 200 OK\r\n\r\n", 0, "h"),
            (b"HTTP/1.1  200 OK\r\n\r\n", 9, " "),
            (b"\r\nHTTP/1.1 200 OK\r\n\r\n", 0, "\\r\\n"),
        ] {
            let m = parse(raw).unwrap_err();
            assert_eq!(m.at, at, "{}", escape(raw));
            assert_eq!(pointed(raw, &m), points, "{}", m.render(raw));
        }
    }

    #[test]
    fn bad_headers() {
        let raw = b"HTTP/1.1 200 OK\r\nX-Broken header\r\n\r\n";
        let m = parse(raw).unwrap_err();
        assert_eq!(m.message, "header line has no colon");
        assert_eq!(pointed(raw, &m), "X-Broken header");
        assert_eq!(
            m.render(raw),
            "error: header line has no colon\n\
             \x20--> response byte 17, line 2\n\
             \x20 |\n\
             2 | X-Broken header\\r\\n\n\
             \x20 | ^^^^^^^^^^^^^^^\n"
        );

        let raw = b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n";
        let m = parse(raw).unwrap_err();
        assert_eq!((m.at, pointed(raw, &m).as_str()), (31, " "));

        let raw = b"HTTP/1.1 200 OK\r\n folded\r\n\r\n";
        assert!(parse(raw).unwrap_err().message.contains("folding"));

        // A bare LF: the caret sits on the \n that lacks its \r.
        let raw = b"HTTP/1.1 200 OK\nContent-Length: 0\n\n";
        let m = parse(raw).unwrap_err();
        assert_eq!((m.at, pointed(raw, &m).as_str()), (15, "\\n"));
    }

    #[test]
    fn bad_framing() {
        // Fewer body bytes than announced: the caret is past the end.
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
        let m = parse(raw).unwrap_err();
        assert!(m.message.contains("5 of the 10"), "{}", m.message);
        let (src, caret) = caret_under(raw, &m);
        assert_eq!(caret.find('^'), Some(src.len()));

        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n";
        let m = parse(raw).unwrap_err();
        assert_eq!(pointed(raw, &m), "1x");

        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\
                    Content-Length: 2\r\n\r\nab";
        assert_eq!(pointed(raw, &parse(raw).unwrap_err()), "2");

        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\
                    Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(pointed(raw, &parse(raw).unwrap_err()), "3");

        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    zz\r\n";
        let m = parse(raw).unwrap_err();
        assert_eq!((m.at, pointed(raw, &m).as_str()), (47, "z"));

        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3\r\nabcd\r\n0\r\n\r\n";
        let m = parse(raw).unwrap_err();
        assert_eq!(pointed(raw, &m), "d\\r");

        // Closed in the middle of the head.
        let m = parse(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap_err();
        assert!(m.message.contains("closed in the middle"));
    }

    #[test]
    fn trailing_bytes_and_long_lines() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
        let r = parse(raw).unwrap().unwrap();
        let m = trailing(r.len, raw.len() - r.len);
        assert_eq!(pointed(raw, &m), "EXTRA");

        // A long body line is cut around the problem, carets still true.
        let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 200));
        raw.extend(b"!!");
        raw.extend(std::iter::repeat_n(b'b', 200));
        let m = Malformed::new("x", 19 + 200, 2);
        let (src, _) = caret_under(&raw, &m);
        assert!(src.starts_with("...") && src.ends_with("..."), "{src}");
        assert_eq!(pointed(&raw, &m), "!!");
    }
}
