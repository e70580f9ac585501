use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use super::*;
use crate::gateway::{Body, StartResponse};

/// A server whose app reads the whole body and answers with its length.
fn start(config: Config) -> Handle {
    let app = |environ: &mut Environ<'_>, sr: &mut StartResponse| {
        let body = environ.read_body(u64::MAX);
        sr.start("200 OK", Vec::new());
        Body::from(format!("{}", body.map_or(0, |b| b.len())))
    };
    let server = Server::bind("127.0.0.1:0", Arc::new(app), config)
        .expect("bind 127.0.0.1:0");
    server.spawn().expect("spawn the server")
}

/// Sends `request` and reads until the server closes.
fn exchange(handle: &Handle, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(handle.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn chunked_trailers_obey_the_configured_head_limit() {
    let mut config = Config {
        access_log: false,
        ..Config::default()
    };
    config.limits.max_head = 256;
    let handle = start(config);
    let trailer = format!("X-Long: {}\r\n", "a".repeat(300));
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n1\r\nA\r\n0\r\n{trailer}\r\n"
    );
    let answer = exchange(&handle, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    // A trailer within the limit is fine.
    let request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n1\r\nA\r\n0\r\nX-Short: 1\r\n\r\n";
    let answer = exchange(&handle, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\n1"), "{answer}");
}
