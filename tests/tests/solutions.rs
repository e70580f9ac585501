//! The exercise solutions in the `solutions` crate, over real sockets:
//! each does what its chapter says it does, and the part it changes
//! does not (so the checks would fail on the unchanged part).

// A failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use part2_gateway::apps::UrlMap;
use solutions::part1::Handler;
use solutions::part1_content_length::{answer_with, mismatched, response};
use solutions::part1_read_until_blank::{self, MAX_REQUEST};
use solutions::part2_count::Count;
use tests::client::{
    Response, connect, exchange, parse_response, read_to_close, request,
};
use tests::{Options, Part, start, start_with_app};

/// Part 1 with `handle` in place of its own, and a short read timeout.
fn part1_with(handle: impl Handler) -> part1_hello::Handle {
    let config = part1_hello::Config {
        read_timeout: Duration::from_millis(500),
        echo_requests: false,
    };
    solutions::part1::spawn("127.0.0.1:0", config, handle).unwrap()
}

/// Whether the server says nothing for `quiet` after what was sent.
fn silent_for(stream: &mut TcpStream, quiet: Duration) -> bool {
    stream.set_read_timeout(Some(quiet)).unwrap();
    let mut byte = [0u8; 1];
    let silent = matches!(
        tests::client::read_some(stream, &mut byte),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
    );
    stream
        .set_read_timeout(Some(tests::client::TIMEOUT))
        .unwrap();
    silent
}

/// Sends the request line alone, as telnet does after the first Enter.
fn request_line_alone(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr);
    stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    stream
}

#[test]
fn part1_answers_the_request_line_alone() {
    // The behaviour exercise 3 changes: part 1 answers after one read.
    let server = start(Part::Part1, &Options::default());
    let mut stream = request_line_alone(server.addr());
    let response = parse_response(&read_to_close(&mut stream).unwrap());
    assert_eq!(response.unwrap().status, 200);
}

/// Sends exercise 3's server the request line alone, then does `then`,
/// and checks that the answer is part 1's one response.
fn read_until_blank_answers(then: impl FnOnce(&mut TcpStream)) {
    let server = part1_with(part1_read_until_blank::handle);
    let mut stream = request_line_alone(server.addr());
    then(&mut stream);
    let raw = read_to_close(&mut stream).unwrap();
    assert_eq!(raw, part1_hello::server::RESPONSE);
}

#[test]
fn read_until_blank_waits_for_the_empty_line() {
    read_until_blank_answers(|stream| {
        assert!(
            silent_for(stream, Duration::from_millis(200)),
            "answered before the head was complete"
        );
        stream.write_all(b"Host: localhost\r\n\r\n").unwrap();
    });
}

#[test]
fn read_until_blank_stops_collecting_at_its_limit() {
    // Header lines and never an empty one: more than the limit.
    read_until_blank_answers(|stream| {
        let filler = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut sent = 0;
        while sent <= MAX_REQUEST {
            stream.write_all(filler).unwrap();
            sent += filler.len();
        }
    });
}

#[test]
fn read_until_blank_answers_a_client_that_stops_sending() {
    read_until_blank_answers(|stream| {
        stream.shutdown(Shutdown::Write).unwrap();
    });
}

#[test]
fn read_until_blank_still_drops_a_silent_client() {
    let server = part1_with(part1_read_until_blank::handle);
    let mut silent = connect(server.addr());
    // Closed without a word after the 500 ms read timeout, so the next
    // client is served.
    assert_eq!(read_to_close(&mut silent).unwrap(), b"");
    let next = request(server.addr(), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(next.body, b"Hello, World!\n");
}

/// A GET, and everything the server sends until it closes: the body as
/// sent, whatever its `Content-Length` says.
fn get_to_close(addr: SocketAddr) -> Response {
    let raw = exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    parse_response(&raw).unwrap()
}

#[test]
fn a_length_left_at_14_does_not_match_the_body() {
    // What exercise 1 breaks: the head says 14, the body is longer.
    let server = part1_with(answer_with(mismatched("Hello, Rust World!\n")));
    let response = get_to_close(server.addr());
    assert_eq!(response.header("Content-Length"), Some("14"));
    assert_eq!(response.body, b"Hello, Rust World!\n");
}

#[test]
fn a_length_built_from_the_body_counts_its_bytes() {
    // Not characters: "ü" and "ß" are two bytes each in UTF-8.
    for body in ["Hello, Rust World!\n", "Hi!\n", "Grüße!\n", ""] {
        let server = part1_with(answer_with(response(body)));
        let response = get_to_close(server.addr());
        let length = body.len().to_string();
        assert_eq!(response.header("Content-Length"), Some(length.as_str()));
        assert_eq!(response.body, body.as_bytes());
    }
}

fn counting(part: Part) -> tests::TestServer {
    let app = UrlMap::new().mount("/count", Count::default());
    start_with_app(part, &Options::default(), Some(Arc::new(app)))
}

fn count_once(addr: SocketAddr) -> u64 {
    let response = request(addr, b"GET /count HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body).unwrap();
    let n = body.strip_prefix("request number ").unwrap();
    n.trim_end().parse().unwrap()
}

#[test]
fn count_numbers_the_requests_in_order() {
    let server = counting(Part::Part2);
    let numbers: Vec<u64> = (0..3).map(|_| count_once(server.addr())).collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[test]
fn count_gives_requests_on_many_threads_a_number_each() {
    // Part 4 runs the app on eight workers at once.
    let server = counting(Part::Part4);
    let addr = server.addr();
    let clients: Vec<_> = (0..40)
        .map(|_| thread::spawn(move || count_once(addr)))
        .collect();
    let numbers: BTreeSet<u64> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(numbers, (1..=40).collect());
}

/// Part 2's server on four threads, with the `sleep` app. Idle
/// connections are kept longer than the client's timeout: a connection
/// that had to wait for another to go idle and close would fail.
fn thread_per_connection() -> solutions::part4_thread_per_connection::Handle {
    let app = tests::app(&Options::app("sleep"));
    let config = part2_gateway::Config {
        keep_alive_timeout: Duration::from_secs(30),
        access_log: false,
        ..Default::default()
    };
    solutions::part4_thread_per_connection::spawn("127.0.0.1:0", app, config, 4)
        .unwrap()
}

#[test]
fn a_thread_per_connection_serves_four_slow_requests_at_once() {
    let server = thread_per_connection();
    let addr = server.addr();
    let mut streams: Vec<TcpStream> = (0..4).map(|_| connect(addr)).collect();
    for stream in &mut streams {
        stream
            .write_all(b"GET /?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    // Part 2 alone would serve the first connection and then wait on
    // it, kept alive, while the others wait unserved.
    let mut readers: Vec<_> = streams
        .into_iter()
        .map(tests::client::ResponseReader::new)
        .collect();
    for reader in &mut readers {
        let r = reader.next("GET").unwrap();
        assert_eq!(r.body, b"slept 500 ms\n");
    }
}

#[test]
fn a_thread_per_connection_keeps_idle_connections_open() {
    let server = thread_per_connection();
    let addr = server.addr();
    // Four keep-alive connections, each answered once and left open: a
    // thread each. Then each is used again, in the other order.
    let mut readers: Vec<_> = (0..4)
        .map(|_| tests::client::ResponseReader::new(connect(addr)))
        .collect();
    for reader in &mut readers {
        reader
            .stream()
            .write_all(b"GET /?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(reader.next("GET").unwrap().status, 200);
    }
    for reader in readers.iter_mut().rev() {
        reader
            .stream()
            .write_all(b"GET /?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(reader.next("GET").unwrap().status, 200);
    }
}
