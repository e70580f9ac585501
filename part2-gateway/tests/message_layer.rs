//! The message layer end to end: a request in, a response out, through
//! the public API only, as a server uses it.

use part2_gateway::HttpError;
use part2_gateway::body::BodyDecoder;
use part2_gateway::chunked::ChunkedDecoder;
use part2_gateway::request::{Framing, Limits, Version, parse_head};
use part2_gateway::response::{
    BodyEncoder, OutFraming, RequestFacts, write_error, write_head,
};

#[test]
fn pipelined_chunked_post_then_get() {
    let wire =
        b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
                 Expect: 100-continue\r\n\r\n\
                 5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n\
                 GET /next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let limits = Limits::default();
    let (head, n) = parse_head(wire, &limits).unwrap().unwrap();
    assert_eq!(head.framing, Framing::Chunked);
    assert!(head.expect_continue);
    let mut decoder = BodyDecoder::with_limits(head.framing, &limits).unwrap();
    let mut body = Vec::new();
    let used = decoder.decode(&wire[n..], &mut body).unwrap();
    assert!(decoder.is_done());
    assert_eq!(body, b"hello world");
    let rest = &wire[n + used..];
    let (next, m) = parse_head(rest, &limits).unwrap().unwrap();
    assert_eq!(m, rest.len());
    assert_eq!(next.target, "/next");
    assert_eq!(next.version, Version::Http10);
    assert!(next.keep_alive);
}

#[test]
fn streamed_response_decodes_back() {
    let (head, _) =
        parse_head(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", &Limits::default())
            .unwrap()
            .unwrap();
    let facts = RequestFacts::of(&head);
    let mut out = Vec::new();
    let plan = write_head(&mut out, &facts, 200, "OK", &[], None);
    assert_eq!(plan.framing, OutFraming::Chunked);
    assert!(plan.keep_alive);
    let head_len = out.len();
    let mut enc = BodyEncoder::new(&plan);
    for piece in [&b"ab"[..], b"", b"cdef"] {
        enc.write(piece, &mut out).unwrap();
    }
    enc.finish(&mut out).unwrap();
    let mut dec = ChunkedDecoder::new(1024, 1024);
    let mut body = Vec::new();
    let used = dec.decode(&out[head_len..], &mut body).unwrap();
    assert!(dec.is_done());
    assert_eq!(used, out.len() - head_len);
    assert_eq!(body, b"abcdef");
}

#[test]
fn refused_request_gets_a_closing_error() {
    let err =
        parse_head(b"GET / HTTP/3.0\r\n\r\n", &Limits::default()).unwrap_err();
    assert_eq!(
        err,
        HttpError::new(505, "this server speaks HTTP/1.0 and HTTP/1.1")
    );
    let mut out = Vec::new();
    write_error(&mut out, &err);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"));
    assert!(text.contains("\r\nConnection: close\r\n"));
    assert!(text.ends_with(
        "\r\n\r\n505 HTTP Version Not Supported: \
         this server speaks HTTP/1.0 and HTTP/1.1\n"
    ));
}
