//! Fuzzing without a fuzzer: the three parsers that read what strangers
//! send (the request head parser, the chunked decoder, and the CGI header
//! parser, since a script is a stranger too) get arbitrary bytes and
//! almost-valid messages, as many as fit in a time budget. cargo-fuzz
//! would need a nightly toolchain; proptest gives the same search on
//! stable, and shrinks what it finds to a small example.
//!
//! Each target asserts that nothing panics, and more: however the bytes
//! are split, the answer is the same; a head or body that parses is
//! exactly the bytes it says it used; an error carries a status the
//! server may send.
//!
//! The targets are `#[ignore]`d (they run for a while). `.ci/run` gives
//! each a few seconds; a long run, one target at a time:
//!
//! ```text
//! FUZZ_SECONDS=600 cargo test --release -p part2-gateway --test fuzz \
//!     -- --ignored --nocapture request_parser
//! ```
//!
//! `FUZZ_SECONDS` bounds each target's time (default 10), `FUZZ_CASES`
//! its number of cases (default: no bound but time), and `FUZZ_SEED`
//! replays a run: every run prints its seed.

use std::io::{self, Read};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use part2_gateway::HttpError;
use part2_gateway::apps::cgi::parse_output;
use part2_gateway::body::BodyDecoder;
use part2_gateway::chunked::{ChunkedDecoder, LAST_CHUNK, encode_chunk};
use part2_gateway::environ::cgi_vars;
use part2_gateway::gateway::parse_status;
use part2_gateway::request::{
    Framing, KNOWN_METHODS, Limits, RequestParser, parse_head,
};
use part2_gateway::{RequestHead, ServerInfo};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{
    Config, RngAlgorithm, TestCaseResult, TestRng, TestRunner,
};

// ---------------------------------------------------------------- harness

/// Cases per proptest run; runs repeat, each with a fresh seed, until
/// the time or the case budget is spent.
const BATCH: u32 = 500;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Runs `test` on values of `strategy` until the budget is spent; on a
/// failure, panics with proptest's smallest failing value and the seed.
fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let seconds = env_u64("FUZZ_SECONDS").unwrap_or(10);
    let max_cases = env_u64("FUZZ_CASES").unwrap_or(u64::MAX);
    let seed = env_u64("FUZZ_SEED").unwrap_or_else(|| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH);
        now.map_or(1, |d| d.as_nanos() as u64)
    });
    eprintln!("fuzz {name}: seed {seed}, {seconds} s");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut cases = 0u64;
    let mut round = 0u64;
    while Instant::now() < deadline && cases < max_cases {
        let batch =
            BATCH.min(u32::try_from(max_cases - cases).unwrap_or(BATCH));
        let config = Config {
            cases: batch,
            failure_persistence: None,
            max_shrink_iters: 100_000,
            ..Config::default()
        };
        let rng = TestRng::from_seed(
            RngAlgorithm::XorShift,
            &seed_bytes(seed, round),
        );
        let mut runner = TestRunner::new_with_rng(config, rng);
        if let Err(failure) = runner.run(&strategy, &test) {
            panic!(
                "fuzz {name}: {failure}\n(seed {seed}, round {round}; \
                 FUZZ_SEED={seed} replays it)"
            );
        }
        cases += u64::from(batch);
        round += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("fuzz {name}: {cases} cases in {secs:.0} s, no failure");
}

/// 16 seed bytes for a round, spread by splitmix64.
fn seed_bytes(seed: u64, round: u64) -> [u8; 16] {
    let mut state = seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next().to_le_bytes());
    bytes[8..].copy_from_slice(&next().to_le_bytes());
    bytes
}

/// Picks one of `items`.
fn one_of(items: &[&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(items.to_vec())
        .prop_map(String::from)
        .boxed()
}

/// A few byte edits: the almost-valid messages that find the bugs.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    /// Cut the message short.
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        1 => Just(b'\r'),
        1 => Just(b'\n'),
        1 => Just(b' '),
        1 => Just(b':'),
        1 => Just(b';'),
        1 => Just(b'"'),
        1 => Just(0u8),
    ];
    let edit = prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    prop_oneof![
        2 => Just(Vec::new()),
        3 => proptest::collection::vec(edit, 1..4),
    ]
}

fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Set(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Remove(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            _ => {}
        }
    }
}

/// Where to cut a message into reads: positions, taken modulo its length.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..8)
}

/// The pieces `bytes` falls into at `cuts`.
fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> =
        cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(bytes.len());
    at.sort_unstable();
    let mut from = 0;
    at.into_iter()
        .map(|to| {
            let piece = &bytes[from..to];
            from = to;
            piece
        })
        .collect()
}

// ---------------------------------------------------------- request heads

/// An almost-valid request head: real methods, targets, versions and
/// fields, with the values that decide framing and limits, then edits.
fn request_bytes() -> BoxedStrategy<Vec<u8>> {
    let method = prop_oneof![
        4 => one_of(&["GET", "HEAD", "POST", "PUT", "OPTIONS", "TRACE"]),
        1 => one_of(&["CONNECT", "get", "BREW", "G\x00T", "", "GET GET"]),
        1 => "[!-~]{0,12}",
    ];
    let target = prop_oneof![
        4 => one_of(&["/", "/a/b?c=d", "/%2e%2e/x", "/a%zz", "*", "/#f"]),
        2 => one_of(&[
            "http://x/y", "HTTP://X:80", "https://x/", "http:///", "ftp://x/",
            "http://u@x/", "http://[::1]:8/", "x:80", "//x", "/a://b",
        ]),
        1 => (7_000usize..9_000).prop_map(|n| format!("/{}", "a".repeat(n))),
        1 => "[ -~]{0,24}",
    ];
    let version = prop_oneof![
        6 => one_of(&["HTTP/1.1", "HTTP/1.0"]),
        1 => one_of(&[
            "HTTP/1.2", "HTTP/2.0", "HTTP/1.", "http/1.1", "HTTP/11",
        ]),
        1 => "[ -~]{0,10}",
    ];
    let name = prop_oneof![
        6 => one_of(&[
            "Host", "Content-Length", "Transfer-Encoding", "Connection",
            "Expect", "Content-Type", "X-A", "host", "CONTENT-LENGTH",
        ]),
        1 => one_of(&["", "Bad Name", " Host", "Host ", "A\x7f"]),
        1 => "[!-~]{1,12}",
    ];
    let value = prop_oneof![
        6 => one_of(&[
            "x", "x:80", "[::1]:8888", "", "5", "0", "7, 7", "5, 6", "+5",
            "18446744073709551615", "18446744073709551616", "chunked",
            "CHUNKED", "gzip, chunked", "chunked, gzip", "chunked;a=b",
            "close", "keep-alive", "Keep-Alive, close", "100-continue",
            "100-continue, tea", "a, b", "caf\u{e9}",
        ]),
        1 => (0usize..40_000).prop_map(|n| "v".repeat(n)),
        1 => "[ -~]{0,40}",
        1 => proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let eol = prop_oneof![8 => Just("\r\n"), 2 => Just("\n"), 1 => Just("\r")];
    let fields = proptest::collection::vec((name, value), 0..8);
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    (
        0usize..3,
        method,
        target,
        version,
        fields,
        eol,
        body,
        edits(),
    )
        .prop_map(|(blank, m, t, v, fields, eol, body, edits)| {
            let mut head = "\r\n".repeat(blank);
            head.push_str(&format!("{m} {t} {v}{eol}"));
            for (name, value) in fields {
                head.push_str(&format!("{name}: {value}{eol}"));
            }
            head.push_str(eol);
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            apply(&mut bytes, &edits);
            bytes
        })
        .boxed()
}

/// The default limits, or small ones whose edges the inputs can reach.
fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        3 => Just(Limits::default()),
        1 => (0usize..80, 0usize..300, 0usize..10, 0u64..100).prop_map(
            |(line, head, headers, body)| Limits {
                max_request_line: line,
                max_head: head,
                max_headers: headers,
                max_body: body,
                ..Limits::default()
            }
        ),
    ]
}

/// Statuses a refused head may get.
const HEAD_STATUSES: &[u16] = &[400, 414, 417, 421, 431, 501, 505];

type Parsed = Result<Option<(RequestHead, usize)>, HttpError>;

fn check_head(bytes: &[u8], cuts: &[usize], limits: &Limits) -> TestCaseResult {
    let whole = parse_head(bytes, limits);
    // In reads of any size, through one incremental parser, the same.
    let mut parser = RequestParser::new();
    let mut buf = Vec::new();
    let mut split: Parsed = Ok(None);
    for piece in pieces(bytes, cuts) {
        buf.extend_from_slice(piece);
        split = parser.parse(&buf, limits);
        if !matches!(split, Ok(None)) {
            break;
        }
    }
    prop_assert_eq!(&split, &whole);
    match whole {
        Ok(None) => {}
        Err(e) => prop_assert!(HEAD_STATUSES.contains(&e.status), "{e}"),
        Ok(Some((head, used))) => {
            prop_assert!(used > 0 && used <= bytes.len());
            // The head is exactly its bytes: one fewer is incomplete.
            let alone = parse_head(&bytes[..used], limits);
            prop_assert_eq!(alone, Ok(Some((head.clone(), used))));
            prop_assert_eq!(parse_head(&bytes[..used - 1], limits), Ok(None));
            prop_assert!(KNOWN_METHODS.contains(&head.method.as_str()));
            prop_assert!(!head.target.is_empty());
            prop_assert!(!head.target.contains(char::is_whitespace));
            for (name, value) in &head.headers {
                prop_assert!(!name.is_empty());
                prop_assert!(!value.contains(['\r', '\n', '\0']));
            }
            // The framing is what the fields say.
            let length = head.header("Content-Length");
            let first = length.and_then(|v| v.split(',').next());
            match head.framing {
                Framing::Length(n) => prop_assert_eq!(
                    first.and_then(|v| v.trim().parse::<u64>().ok()),
                    Some(n)
                ),
                Framing::Chunked => {
                    prop_assert!(length.is_none());
                    prop_assert!(head.header("Transfer-Encoding").is_some());
                }
                Framing::None => prop_assert!(length.is_none()),
            }
            // What an app would see, and the body after it.
            let addr = ([127, 0, 0, 1], 8888).into();
            let vars = cgi_vars(&head, &ServerInfo::new(addr, addr));
            prop_assert!(vars.contains_key("PATH_INFO"));
            if let Ok(mut body) = BodyDecoder::with_limits(head.framing, limits)
            {
                let mut out = Vec::new();
                if let Ok(n) = body.decode(&bytes[used..], &mut out) {
                    prop_assert!(n <= bytes.len() - used);
                }
            }
        }
    }
    Ok(())
}

#[test]
#[ignore = "fuzzing: run with --ignored, FUZZ_SECONDS bounds it"]
fn fuzz_request_parser() {
    let bytes = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        4 => request_bytes(),
    ];
    fuzz("request_parser", (bytes, cuts(), limits()), |(b, c, l)| {
        check_head(&b, &c, &l)
    });
}

// ----------------------------------------------------------- chunked body

/// An almost-valid chunked body: sizes that match their data or sit at
/// the edges (u64 overflow, the body limit), extensions and trailers near
/// their limits, line ends of every kind, then edits.
fn chunked_bytes() -> BoxedStrategy<Vec<u8>> {
    let data = proptest::collection::vec(any::<u8>(), 0..40);
    let size = prop_oneof![
        8 => Just(None), // the data's own length
        1 => one_of(&[
            "ffffffffffffffff", "10000000000000000", "0000000000000000001",
            "FFFFFFFFFFFFFFFF", "7fffffffffffffff", "400", "401", "3ff", "g",
            "", "-1", " 1", "0x1",
        ])
        .prop_map(Some),
    ];
    let ext = prop_oneof![
        6 => Just(String::new()),
        1 => one_of(&[
            ";a=b", ";a=\"x;\\\"y\"", " ;a", ";\"", ";a=\"\r\"", ";\x01",
        ]),
        1 => (4_080usize..4_100).prop_map(|n| format!(";{}", "e".repeat(n))),
    ];
    let eol = prop_oneof![
        8 => Just("\r\n"),
        2 => Just("\n"),
        1 => Just("\r"),
        1 => Just(""),
    ];
    let chunk = (size, ext, data, eol.clone());
    let trailer = prop_oneof![
        4 => Just(String::new()),
        2 => one_of(&[
            "X: y\r\n", "X:y\n", "A: 1\r\nB: 2\r\n", "bad\r\n", " X: y\r\n",
            "X: \x01\r\n",
        ]),
        1 => (0usize..1_100).prop_map(|n| format!("T: {}\r\n", "t".repeat(n))),
    ];
    let last = one_of(&["0", "000", "0;x=y", "00;\"q\""]);
    let tail = one_of(&["", "NEXT", "GET / HTTP/1.1\r\n"]);
    (
        proptest::collection::vec(chunk, 0..6),
        last,
        eol,
        trailer,
        tail,
        edits(),
    )
        .prop_map(|(chunks, last, eol, trailer, tail, edits)| {
            let mut bytes = Vec::new();
            for (size, ext, data, end) in chunks {
                let size = size.unwrap_or_else(|| format!("{:x}", data.len()));
                bytes.extend_from_slice(format!("{size}{ext}{end}").as_bytes());
                bytes.extend_from_slice(&data);
                bytes.extend_from_slice(end.as_bytes());
            }
            bytes.extend_from_slice(
                format!("{last}{eol}{trailer}{eol}{tail}").as_bytes(),
            );
            apply(&mut bytes, &edits);
            bytes
        })
        .boxed()
}

/// The body and trailer limits: defaults, or small ones near the edges.
fn chunk_limits() -> impl Strategy<Value = (u64, usize)> {
    prop_oneof![
        Just((1 << 20, 32 * 1024)),
        (
            prop_oneof![Just(0u64), 0u64..64, Just(1024), Just(u64::MAX)],
            0usize..1_200
        ),
    ]
}

/// What decoding came to: the error, or the output, the bytes used and
/// whether the body ended.
type Decoded = Result<(Vec<u8>, usize, bool), HttpError>;

fn decode_pieces(
    pieces: &[&[u8]],
    max_body: u64,
    max_trailer: usize,
) -> Decoded {
    let mut decoder = ChunkedDecoder::new(max_body, max_trailer);
    let mut out = Vec::new();
    let mut used = 0;
    for piece in pieces {
        let n = decoder.decode(piece, &mut out)?;
        assert!(n <= piece.len(), "used {n} of {}", piece.len());
        used += n;
        if decoder.is_done() {
            break;
        }
        // A decoder that stops short of the end of a piece is done.
        assert_eq!(n, piece.len(), "stopped early without finishing");
    }
    assert!(out.len() as u64 <= max_body);
    assert_eq!(decoder.decoded(), out.len() as u64);
    Ok((out, used, decoder.is_done()))
}

fn check_chunked(
    bytes: &[u8],
    cuts: &[usize],
    (max_body, max_trailer): (u64, usize),
) -> TestCaseResult {
    let whole = decode_pieces(&[bytes], max_body, max_trailer);
    let split = decode_pieces(&pieces(bytes, cuts), max_body, max_trailer);
    prop_assert_eq!(&split, &whole);
    let singles: Vec<&[u8]> = bytes.chunks(1).collect();
    prop_assert_eq!(&decode_pieces(&singles, max_body, max_trailer), &whole);
    match whole {
        Err(e) => prop_assert!([400, 413, 431].contains(&e.status), "{e}"),
        Ok((out, used, true)) => {
            // The body is exactly its bytes: one fewer does not end it.
            let alone = decode_pieces(&[&bytes[..used]], max_body, max_trailer);
            prop_assert_eq!(alone, Ok((out.clone(), used, true)));
            let short =
                decode_pieces(&[&bytes[..used - 1]], max_body, max_trailer);
            prop_assert!(matches!(short, Ok((_, _, false))), "{short:?}");
            // The same through BodyDecoder, as the servers use it.
            let limits = Limits {
                max_body,
                max_head: max_trailer,
                ..Limits::default()
            };
            let mut body = BodyDecoder::with_limits(Framing::Chunked, &limits)
                .expect("chunked has no length to refuse");
            let mut again = Vec::new();
            prop_assert_eq!(body.decode(bytes, &mut again), Ok(used));
            prop_assert_eq!(again, out);
        }
        Ok((_, used, false)) => prop_assert_eq!(used, bytes.len()),
    }
    Ok(())
}

#[test]
#[ignore = "fuzzing: run with --ignored, FUZZ_SECONDS bounds it"]
fn fuzz_chunked_decoder() {
    let bytes = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256),
        1 => proptest::collection::vec(
            proptest::sample::select(
                b"0123456789abcdefABCDEF;=\" \t\r\nx:".to_vec()
            ),
            0..256,
        ),
        4 => chunked_bytes(),
    ];
    fuzz(
        "chunked_decoder",
        (bytes, cuts(), chunk_limits()),
        |(b, c, l)| check_chunked(&b, &c, l),
    );
}

/// What the encoder writes, the decoder reads back.
#[test]
#[ignore = "fuzzing: run with --ignored, FUZZ_SECONDS bounds it"]
fn fuzz_chunked_round_trip() {
    let chunks = proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300),
        0..8,
    );
    fuzz("chunked_round_trip", chunks, |chunks| {
        let mut wire = Vec::new();
        for chunk in &chunks {
            encode_chunk(chunk, &mut wire);
        }
        wire.extend_from_slice(LAST_CHUNK);
        let decoded = decode_pieces(&[&wire], u64::MAX, 0);
        prop_assert_eq!(decoded, Ok((chunks.concat(), wire.len(), true)));
        Ok(())
    });
}

// ------------------------------------------------------- CGI header block

/// A reader that hands out `bytes` in pieces of the given sizes, as a
/// pipe from a script does.
struct Pipe<'a> {
    bytes: &'a [u8],
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Pipe<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes.get(self.turn % self.sizes.len().max(1)).copied();
        self.turn += 1;
        let n = size
            .unwrap_or(usize::MAX)
            .max(1)
            .min(out.len())
            .min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// An almost-valid script output: the fields a CGI script writes, values
/// and line ends of every kind, blocks near the size limit, then edits.
fn cgi_bytes() -> BoxedStrategy<Vec<u8>> {
    let name = prop_oneof![
        6 => one_of(&[
            "Status", "Content-Type", "Location", "Content-Length",
            "Set-Cookie", "status", "X-Powered-By",
        ]),
        1 => one_of(&["", "Bad Name", "Status ", " X", "A\x7f", "\u{e9}"]),
        1 => "[!-~]{1,12}",
    ];
    let value = prop_oneof![
        6 => one_of(&[
            "200 OK", "404", "299", "302 Found", "100", "600 x", "20 x",
            "abc", "200 a\tb", "text/html", "/elsewhere", "12", "-1", "",
            "a=1; Path=/", "  spaced  ",
        ]),
        1 => (32_700usize..32_800).prop_map(|n| "v".repeat(n)),
        1 => "[ -~]{0,40}",
        1 => proptest::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let eol = prop_oneof![4 => Just("\n"), 4 => Just("\r\n"), 1 => Just("\r")];
    let fields = proptest::collection::vec((name, value, eol.clone()), 0..6);
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    (fields, eol, body, edits())
        .prop_map(|(fields, eol, body, edits)| {
            let mut bytes = Vec::new();
            for (name, value, end) in fields {
                bytes.extend_from_slice(
                    format!("{name}: {value}{end}").as_bytes(),
                );
            }
            bytes.extend_from_slice(eol.as_bytes());
            bytes.extend_from_slice(&body);
            apply(&mut bytes, &edits);
            bytes
        })
        .boxed()
}

/// Where the body starts by a plain reading of the rules: after the
/// first empty line (`\n` or `\r\n`).
fn body_start(bytes: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            let line = &bytes[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    None
}

fn check_cgi(bytes: &[u8], sizes: Vec<usize>) -> TestCaseResult {
    let mut pipe = Pipe {
        bytes,
        sizes,
        turn: 0,
    };
    let parsed = parse_output(&mut pipe);
    let mut whole = Pipe {
        bytes,
        sizes: vec![],
        turn: 0,
    };
    let at_once = parse_output(&mut whole);
    let Ok((status, headers, rest)) = parsed else {
        return Ok(());
    };
    // Status and fields do not depend on how the pipe delivered them
    // (only the size limit can: a block read in one piece may end
    // within it where small reads pass it first).
    if let Ok((status2, headers2, _)) = &at_once {
        prop_assert_eq!(&status, status2);
        prop_assert_eq!(&headers, headers2);
    }
    prop_assert!(parse_status(&status).is_some(), "{status:?}");
    for (name, value) in &headers {
        prop_assert!(!name.is_empty());
        prop_assert!(name.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
        prop_assert!(!value.contains(['\r', '\n', '\0']), "{value:?}");
        prop_assert!(!name.eq_ignore_ascii_case("Status"));
    }
    // What was read past the block is the start of the body.
    let start = body_start(bytes);
    prop_assert!(start.is_some());
    let start = start.unwrap_or_default();
    prop_assert_eq!(&bytes[start..start + rest.len()], rest.as_slice());
    Ok(())
}

#[test]
#[ignore = "fuzzing: run with --ignored, FUZZ_SECONDS bounds it"]
fn fuzz_cgi_header_parser() {
    let bytes = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        4 => cgi_bytes(),
    ];
    let sizes = proptest::collection::vec(1usize..5_000, 0..4);
    fuzz("cgi_header_parser", (bytes, sizes), |(b, s)| {
        check_cgi(&b, s)
    });
}

// -------------------------------------------- what the fuzzing has found

/// `decoded()` counted a chunk's announced size before its data came:
/// `01\n` said one byte was decoded, with none in the output.
#[test]
fn decoded_counts_bytes_out_not_bytes_announced() {
    let mut decoder = ChunkedDecoder::new(1 << 20, 1024);
    let mut out = Vec::new();
    assert_eq!(decoder.decode(b"01\n", &mut out), Ok(3));
    assert_eq!((decoder.decoded(), out.len()), (0, 0));
    assert_eq!(decoder.decode(b"a", &mut out), Ok(1));
    assert_eq!(decoder.decoded(), 1);
}

/// The empty line that ends a chunked body counted toward the trailer
/// limit: with a limit under two bytes no chunked body could end.
#[test]
fn the_last_empty_line_is_not_a_trailer() {
    let mut decoder = ChunkedDecoder::new(1 << 20, 0);
    let mut out = Vec::new();
    assert_eq!(decoder.decode(b"1\r\na\r\n0\r\n\r\n", &mut out), Ok(11));
    assert!(decoder.is_done());
    let mut decoder = ChunkedDecoder::new(1 << 20, 3);
    let err = decoder.decode(b"0\r\nX: y\r\n\r\n", &mut out).unwrap_err();
    assert_eq!(err.status, 431);
}
