use super::*;

const MAX: u64 = 1 << 20;

/// Decodes `input` at once and byte by byte; both must agree.
fn decode(input: &[u8]) -> Result<(Vec<u8>, usize), HttpError> {
    let mut d = ChunkedDecoder::new(MAX, 1024);
    let mut out = Vec::new();
    let n = d.decode(input, &mut out)?;
    assert!(d.is_done(), "not done");

    let mut d2 = ChunkedDecoder::new(MAX, 1024);
    let mut out2 = Vec::new();
    let mut used = 0;
    for b in input {
        if d2.is_done() {
            break;
        }
        used += d2.decode(std::slice::from_ref(b), &mut out2)?;
    }
    assert_eq!((&out, n), (&out2, used));
    Ok((out, n))
}

fn status(input: &[u8]) -> u16 {
    let mut d = ChunkedDecoder::new(MAX, 64);
    let err = d.decode(input, &mut Vec::new()).unwrap_err();
    // Byte by byte gives the same error.
    let mut d2 = ChunkedDecoder::new(MAX, 64);
    let err2 = input
        .iter()
        .find_map(|b| d2.decode(&[*b], &mut Vec::new()).err())
        .unwrap();
    assert_eq!(err, err2);
    err.status
}

#[test]
fn simple_body() {
    let input =
        b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nNEXT";
    let (out, n) = decode(input).unwrap();
    assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
    assert_eq!(&input[n..], b"NEXT");
}

#[test]
fn bare_lf_and_uppercase_hex() {
    let (out, _) = decode(b"A\nabcdefghij\n0\n\n").unwrap();
    assert_eq!(out, b"abcdefghij");
    let (out, _) = decode(b"00a\r\nabcdefghij\r\n0\r\n\r\n").unwrap();
    assert_eq!(out.len(), 10);
}

#[test]
fn extensions_are_ignored() {
    let input = b"3;a=b;c=\"x;\\\"y\" ; d\r\nabc\r\n0;last\r\n\r\n";
    assert_eq!(status(b"3;c=\"x\r\n\"\r\nabc\r\n0\r\n\r\n"), 400);
    assert_eq!(decode(input).unwrap().0, b"abc");
    assert_eq!(status(b"3;a\0\r\nabc\r\n0\r\n\r\n"), 400);
    let long = format!("3;{}\r\nabc\r\n0\r\n\r\n", "x".repeat(5000));
    assert_eq!(status(long.as_bytes()), 400);
}

#[test]
fn trailers_are_parsed_and_dropped() {
    let input = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nY:2\r\n\r\nrest";
    let (out, n) = decode(input).unwrap();
    assert_eq!(out, b"abc");
    assert_eq!(&input[n..], b"rest");
    assert_eq!(status(b"0\r\nno colon\r\n\r\n"), 400);
    assert_eq!(status(b"0\r\n folded: x\r\n\r\n"), 400);
    assert_eq!(status(b"0\r\nX: a\rb\r\n\r\n"), 400);
    let big = format!("0\r\nX: {}\r\n\r\n", "v".repeat(100));
    assert_eq!(status(big.as_bytes()), 431);
}

#[test]
fn malformed_sizes() {
    assert_eq!(status(b"\r\nabc\r\n"), 400);
    assert_eq!(status(b"x\r\n"), 400);
    assert_eq!(status(b"-1\r\n"), 400);
    assert_eq!(status(b"1 2\r\n"), 400);
    assert_eq!(status(b"3\rabc"), 400);
    // 17 hex digits overflow u64.
    assert_eq!(status(b"10000000000000000\r\n"), 400);
}

#[test]
fn crlf_required_after_data() {
    assert_eq!(status(b"3\r\nabcd\r\n0\r\n\r\n"), 400);
    assert_eq!(status(b"3\r\nabc\rX0\r\n\r\n"), 400);
}

#[test]
fn max_body_413() {
    let mut d = ChunkedDecoder::new(5, 64);
    let mut out = Vec::new();
    assert_eq!(d.decode(b"3\r\nabc\r\n", &mut out), Ok(8));
    // Refused on the size line, before the data.
    assert_eq!(d.decode(b"3\r\n", &mut out).unwrap_err().status, 413);
    let mut d = ChunkedDecoder::new(5, 64);
    let huge = b"ffffffffffffffff\r\n";
    assert_eq!(d.decode(huge, &mut out).unwrap_err().status, 413);
}

#[test]
fn stops_at_the_end() {
    let mut d = ChunkedDecoder::new(MAX, 64);
    let mut out = Vec::new();
    assert_eq!(d.decode(b"0\r\n\r\n0\r\n", &mut out), Ok(5));
    assert!(d.is_done());
    assert_eq!(d.decode(b"more", &mut out), Ok(0));
}

#[test]
fn encoder_round_trips() {
    let mut out = Vec::new();
    encode_chunk(b"hello", &mut out);
    encode_chunk(b"", &mut out);
    encode_chunk(&[b'x'; 300], &mut out);
    out.extend_from_slice(LAST_CHUNK);
    assert!(out.starts_with(b"5\r\nhello\r\n12c\r\n"));
    let (body, n) = decode(&out).unwrap();
    assert_eq!(n, out.len());
    assert_eq!(body.len(), 305);
}
