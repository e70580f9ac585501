//! A raw-bytes client: what `nc` and `telnet` do, with timeouts.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Every socket in the suite gives up after this long, so a broken
/// server fails a test instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Connects with read and write timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream =
        TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect to server");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("set read timeout");
    stream
        .set_write_timeout(Some(TIMEOUT))
        .expect("set write timeout");
    stream
}

/// Sends `bytes`, then reads until the server closes.
pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("send request");
    read_to_close(&mut stream).expect("read response")
}

/// One `read`, again if a signal interrupted it (`EINTR` says nothing
/// about the server: a signal handler ran on this thread).
pub fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads until end of stream.
pub fn read_to_close(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    Ok(out)
}

/// A response as the client saw it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body bytes after the head (not decoded).
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits raw bytes into one response head and everything after it.
///
/// Strict on purpose: CRLF line ends, a status line of the form
/// `HTTP/1.x NNN reason`, `name: value` fields.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no CRLF CRLF after the head")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty head")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(format!("bad version in {status_line:?}"));
    }
    let code = parts.next().unwrap_or_default();
    if code.len() != 3 {
        return Err(format!("bad status code in {status_line:?}"));
    }
    let status = code.parse().map_err(|_| format!("bad code {code:?}"))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header without colon: {line:?}"))?;
        if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
            return Err(format!("bad header name in {line:?}"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Response {
        version,
        status,
        reason,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// Closes with a TCP reset (RST) instead of a FIN, as a killed client
/// or a browser cancelling a download does: SO_LINGER with a zero time.
pub fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Reads framed responses one by one from a kept-alive connection, as a
/// browser does: the head, then exactly the body its framing announces.
pub struct ResponseReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ResponseReader {
    /// Reads responses from `stream`.
    pub fn new(stream: TcpStream) -> Self {
        ResponseReader {
            stream,
            buf: Vec::new(),
        }
    }

    /// The connection, to send more requests on.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Bytes received after the last response: must be none on a
    /// well-behaved connection.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = read_some(&mut self.stream, &mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads until `buf` holds `n` bytes or the stream ends.
    fn need(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("closed after {} of {n} bytes", self.buf.len()),
                ));
            }
        }
        Ok(())
    }

    /// Reads one response to a request with method `method`. Interim
    /// `1xx` responses are returned like any other.
    pub fn next(&mut self, method: &str) -> io::Result<Response> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n")
            {
                break i + 4;
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "closed before a whole head: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
        };
        let mut response = parse_response(&self.buf[..end])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.buf.drain(..end);
        let bodyless = method == "HEAD"
            || (100..200).contains(&response.status)
            || response.status == 204
            || response.status == 304;
        let chunked = response
            .header("Transfer-Encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        if bodyless {
            response.body.clear();
        } else if chunked {
            response.body = self.read_chunked()?;
        } else if let Some(len) = response.header("Content-Length") {
            let len: usize = len
                .parse()
                .map_err(|_| io::Error::other("bad Content-Length"))?;
            self.need(len)?;
            response.body = self.buf.drain(..len).collect();
        } else {
            while self.fill()? > 0 {}
            response.body = std::mem::take(&mut self.buf);
        }
        Ok(response)
    }

    fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n")
                {
                    break i;
                }
                if self.fill()? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            };
            let line =
                String::from_utf8_lossy(&self.buf[..line_end]).to_string();
            let size = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| io::Error::other(format!("bad chunk {line:?}")))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                self.need(2)?;
                if &self.buf[..2] != b"\r\n" {
                    return Err(io::Error::other("trailers not expected"));
                }
                self.buf.drain(..2);
                return Ok(body);
            }
            self.need(size + 2)?;
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(io::Error::other("no CRLF after chunk data"));
            }
            self.buf.drain(..size + 2);
        }
    }

    /// Whether the server closed the connection (read returns 0, or the
    /// connection was reset) within the socket's timeout. A timeout is
    /// not a close.
    pub fn closed(&mut self) -> bool {
        let closed = match self.fill() {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        };
        closed && self.buf.is_empty()
    }
}

/// Sends one request on a new connection and reads one framed response.
pub fn request(addr: SocketAddr, bytes: &[u8]) -> Response {
    let method = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.split(' ').next())
        .unwrap_or("GET")
        .to_string();
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("send request");
    ResponseReader::new(stream)
        .next(&method)
        .unwrap_or_else(|e| {
            panic!("no response to {:?}: {e}", String::from_utf8_lossy(bytes))
        })
}
