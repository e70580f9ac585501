//! Property tests of the message layer: splitting the input never
//! changes the outcome, and no input makes it panic or spin.

use part2_gateway::HttpError;
use part2_gateway::body::BodyDecoder;
use part2_gateway::request::{Limits, RequestHead, RequestParser, parse_head};
use proptest::prelude::*;

/// What a connection's bytes amounted to: the requests read in full,
/// then how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    requests: Vec<(RequestHead, Vec<u8>)>,
    /// The error that stopped it, if any.
    error: Option<HttpError>,
    /// Bytes left over at EOF (a request cut short), when no error.
    leftover: usize,
}

/// A connection being read: the server's side of the message layer.
struct Conn {
    limits: Limits,
    buf: Vec<u8>,
    parser: RequestParser,
    body: Option<(RequestHead, BodyDecoder, Vec<u8>)>,
    out: Outcome,
}

impl Conn {
    fn new() -> Self {
        Conn {
            limits: Limits {
                max_request_line: 256,
                max_head: 1024,
                max_headers: 16,
                max_body: 4096,
                ..Limits::default()
            },
            buf: Vec::new(),
            parser: RequestParser::new(),
            body: None,
            out: Outcome {
                requests: Vec::new(),
                error: None,
                leftover: 0,
            },
        }
    }

    /// Appends `piece` and parses as far as it goes. Every turn of the
    /// loop either consumes bytes, finishes something, or stops, so it
    /// cannot spin; the step counter proves it.
    fn feed(&mut self, piece: &[u8]) {
        if self.out.error.is_some() {
            return;
        }
        self.buf.extend_from_slice(piece);
        // A head takes at least one byte, and a body ends after a head.
        let bound = 2 * self.buf.len() + 4;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps <= bound, "no progress");
            let step = match self.body.take() {
                None => match self.parser.parse(&self.buf, &self.limits) {
                    Ok(None) => return,
                    Ok(Some((head, n))) => {
                        self.buf.drain(..n);
                        BodyDecoder::with_limits(head.framing, &self.limits)
                            .map(|d| self.body = Some((head, d, Vec::new())))
                    }
                    Err(e) => Err(e),
                },
                Some((head, mut decoder, mut body)) => {
                    match decoder.decode(&self.buf, &mut body) {
                        Ok(n) => {
                            self.buf.drain(..n);
                            if decoder.is_done() {
                                self.out.requests.push((head, body));
                                Ok(())
                            } else {
                                self.body = Some((head, decoder, body));
                                return;
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = step {
                self.out.error = Some(e);
                return;
            }
        }
    }

    fn eof(mut self) -> Outcome {
        // After an error the server stops reading, so how much was
        // buffered depends on the reads; only count leftovers otherwise.
        if self.out.error.is_none() {
            self.out.leftover = self.buf.len();
            if self.body.is_some() {
                self.out.leftover += 1;
            }
        }
        self.out
    }
}

fn at_once(bytes: &[u8]) -> Outcome {
    let mut conn = Conn::new();
    conn.feed(bytes);
    conn.eof()
}

fn in_pieces(bytes: &[u8], cuts: &[usize]) -> Outcome {
    let mut cuts: Vec<usize> =
        cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut conn = Conn::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        conn.feed(&bytes[from..cut]);
        from = cut;
    }
    conn.eof()
}

/// One request of the generated streams.
#[derive(Debug, Clone)]
enum Req {
    Get(String),
    Post(String, Vec<u8>),
    Chunked(String, Vec<Vec<u8>>, bool),
}

fn req() -> impl Strategy<Value = Req> {
    let target = "/[a-z0-9/]{0,12}(\\?[a-z=&]{0,8})?";
    let body = proptest::collection::vec(any::<u8>(), 0..200);
    let chunks = proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 1..50),
        0..6,
    );
    prop_oneof![
        target.prop_map(Req::Get),
        (target, body).prop_map(|(t, b)| Req::Post(t, b)),
        (target, chunks, any::<bool>())
            .prop_map(|(t, c, ext)| Req::Chunked(t, c, ext)),
    ]
}

fn encode(reqs: &[Req]) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut bytes = Vec::new();
    let mut want = Vec::new();
    for r in reqs {
        match r {
            Req::Get(t) => {
                bytes.extend_from_slice(
                    format!("GET {t} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                );
                want.push((t.clone(), Vec::new()));
            }
            Req::Post(t, body) => {
                bytes.extend_from_slice(
                    format!(
                        "POST {t} HTTP/1.1\r\nHost: x\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .as_bytes(),
                );
                bytes.extend_from_slice(body);
                want.push((t.clone(), body.clone()));
            }
            Req::Chunked(t, chunks, ext) => {
                bytes.extend_from_slice(
                    format!(
                        "POST {t} HTTP/1.1\r\nHost: x\r\n\
                         Transfer-Encoding: chunked\r\n\r\n"
                    )
                    .as_bytes(),
                );
                for c in chunks {
                    let e = if *ext { ";n=\"v;\\\"\" ; m" } else { "" };
                    bytes.extend_from_slice(
                        format!("{:X}{e}\r\n", c.len()).as_bytes(),
                    );
                    bytes.extend_from_slice(c);
                    bytes.extend_from_slice(b"\r\n");
                }
                let trailer = if *ext { "T: 1\r\n" } else { "" };
                bytes.extend_from_slice(
                    format!("0\r\n{trailer}\r\n").as_bytes(),
                );
                want.push((t.clone(), chunks.concat()));
            }
        }
    }
    (bytes, want)
}

/// A header line of a generated head.
fn header() -> impl Strategy<Value = String> {
    "[A-Za-z-]{1,10}: [ -~]{0,16}"
}

/// A GET head with a Host and `headers`.
fn head_bytes(target: &str, headers: &[String]) -> Vec<u8> {
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: x\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(0u8),
        Just(b'0'),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let i = i % bytes.len();
            bytes[i] = b;
        }
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Delete(i) => {
            bytes.remove(i % bytes.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Valid pipelined streams decode to what was sent, however split.
    #[test]
    fn any_split_of_valid_stream(
        reqs in proptest::collection::vec(req(), 1..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (bytes, want) = encode(&reqs);
        let whole = at_once(&bytes);
        prop_assert_eq!(whole.error, None);
        prop_assert_eq!(whole.leftover, 0);
        let got: Vec<(String, Vec<u8>)> = whole
            .requests
            .iter()
            .map(|(h, b)| (h.target.clone(), b.clone()))
            .collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(in_pieces(&bytes, &cuts), whole);
        // Byte by byte, the worst case.
        let every: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(in_pieces(&bytes, &every), at_once(&bytes));
    }

    /// Arbitrary bytes: no panic, an end, and the same end however split.
    #[test]
    fn arbitrary_bytes_end_the_same(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        prop_assert_eq!(in_pieces(&bytes, &cuts), at_once(&bytes));
    }

    /// A head parsed into one that held another request (or what an
    /// error left of one) is the head parsed into a new one: reuse
    /// (`parse_into`, as part 3's loop does) changes nothing but speed.
    #[test]
    fn reused_heads_parse_like_new_ones(
        first in "/[a-z]{0,8}",
        first_headers in proptest::collection::vec(header(), 0..6),
        second in "/[a-z]{0,8}",
        second_headers in proptest::collection::vec(header(), 0..6),
        mutations in proptest::collection::vec(mutation(), 0..2),
    ) {
        let limits = Limits::default();
        let mut a = head_bytes(&first, &first_headers);
        for m in &mutations {
            mutate(&mut a, m);
        }
        let b = head_bytes(&second, &second_headers);
        let mut head = RequestHead::default();
        let _ = RequestParser::new().parse_into(&a, &limits, &mut head);
        let reused = RequestParser::new()
            .parse_into(&b, &limits, &mut head)
            .map(|used| used.map(|n| (head.clone(), n)));
        prop_assert_eq!(reused, RequestParser::new().parse(&b, &limits));
    }

    /// Valid streams with a few bytes changed: no panic, and the same
    /// outcome however split.
    #[test]
    fn mutated_streams_end_the_same(
        reqs in proptest::collection::vec(req(), 1..4),
        mutations in proptest::collection::vec(mutation(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (mut bytes, _) = encode(&reqs);
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        prop_assert_eq!(in_pieces(&bytes, &cuts), at_once(&bytes));
    }

    /// The plain scan of the book (`parse_head`, from the start on every
    /// call) and the parser a server keeps give the same answer at every
    /// prefix of a stream, valid or not, with small limits too.
    #[test]
    fn the_plain_scan_and_the_parser_agree(
        reqs in proptest::collection::vec(req(), 1..3),
        mutations in proptest::collection::vec(mutation(), 0..3),
        small in any::<bool>(),
    ) {
        let (mut bytes, _) = encode(&reqs);
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        let limits = if small {
            Limits {
                max_request_line: 24,
                max_head: 90,
                max_headers: 3,
                ..Limits::default()
            }
        } else {
            Limits::default()
        };
        let mut parser = RequestParser::new();
        for end in 0..=bytes.len() {
            let plain = parse_head(&bytes[..end], &limits);
            let kept = parser.parse(&bytes[..end], &limits);
            prop_assert_eq!(&kept, &plain, "at {} bytes", end);
            if !matches!(plain, Ok(None)) {
                break;
            }
        }
    }
}
