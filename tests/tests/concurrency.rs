//! Many clients at once: what parts 3 and 4 are for. Part 2 serves one
//! connection at a time: where a check shows that, it is marked as its
//! lesson; where it would only time out, it is not marked for it.

// A failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use part2_gateway::{Body, Environ, StartResponse};
use tests::client::{ResponseReader, connect, request};
use tests::{Options, Part, check, start_with_app};

const HELLO_REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

check!(thousand_clients_twenty_requests_each, [Part3, Part4], |s| {
    let addr = s.addr();
    // 20 threads, each holding 50 open connections: 1,000 at once.
    let threads: Vec<_> = (0..20)
        .map(|_| {
            thread::spawn(move || {
                let mut conns: Vec<ResponseReader> = (0..50)
                    .map(|_| ResponseReader::new(connect(addr)))
                    .collect();
                let mut answered = 0;
                for _round in 0..20 {
                    for conn in &mut conns {
                        conn.stream().write_all(HELLO_REQ).unwrap();
                        let r = conn.next("GET").unwrap();
                        assert_eq!(r.body, b"Hello, World!\n");
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(total, 20_000);
});

/// A request timeout of a second: long enough for the first of the
/// other clients to be answered before the slow one's time is up, even
/// on a loaded machine.
fn one_second_timeouts() -> Options {
    Options {
        read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_millis(300),
        ..Options::default()
    }
}

check!(
    slowloris_does_not_delay_others,
    [Part3, Part4],
    lesson([Part2], "serves the others only after slowloris"),
    options(one_second_timeouts()),
    |s| {
        let addr = s.addr();
        // One header byte every 20 ms: the head is never whole within the
        // request timeout.
        let mut slow = connect(addr);
        slow.set_nodelay(true).unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let mut writer = slow.try_clone().unwrap();
        let dribble = thread::spawn(move || {
            for byte in
                b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            {
                if writer.write_all(&[*byte]).is_err() {
                    break; // closed on us: fine, checked below
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        // While the slow client dribbles, everyone else is served at once:
        // when the first of them has its answer, the slow one has none.
        // Part 2 serves one client at a time: it answers the others only
        // after it gave up on slowloris, with a 408.
        assert_eq!(request(addr, HELLO_REQ).status, 200);
        slow.set_nonblocking(true).unwrap();
        let answered = slow.peek(&mut [0u8; 1]);
        assert!(
            matches!(&answered, Err(e) if e.kind() == ErrorKind::WouldBlock),
            "serves the others only after slowloris: {answered:?}"
        );
        slow.set_nonblocking(false).unwrap();
        for _ in 0..19 {
            assert_eq!(request(addr, HELLO_REQ).status, 200);
        }
        // And the slow client is cut off when its time runs out.
        dribble.join().unwrap();
        let status = ResponseReader::new(slow).next("GET").map(|r| r.status);
        assert_eq!(status.ok(), Some(408));
    }
);

/// An app whose body is 64 MiB, produced in pieces: far more than the
/// socket buffers hold.
fn huge(_: &mut Environ<'_>, sr: &mut StartResponse) -> Body {
    sr.start("200 OK", vec![("Content-Type".into(), "text/plain".into())]);
    Body::stream((0..1024).map(|_| Ok(vec![b'x'; 64 * 1024])))
}

fn never_reading_client_does_not_block_others(part: Part) {
    let server =
        start_with_app(part, &Options::default(), Some(Arc::new(huge)));
    let addr: SocketAddr = server.addr();
    let mut hog = connect(addr);
    hog.write_all(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // `hog` never reads; its response fills every buffer on the way and
    // the server must go on serving others.
    for _ in 0..20 {
        let r = request(
            addr,
            b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(r.status, 200);
    }
    drop(hog);
}

#[test]
fn never_reading_client_does_not_block_others_part3() {
    never_reading_client_does_not_block_others(Part::Part3);
}

#[test]
fn never_reading_client_does_not_block_others_part4() {
    never_reading_client_does_not_block_others(Part::Part4);
}

fn sleepy() -> Options {
    Options::app("sleep")
}

/// Sends `GET /?ms=N` and returns when the answer is complete.
fn slept(addr: SocketAddr, ms: u64) -> u16 {
    let req = format!("GET /?ms={ms} HTTP/1.1\r\nHost: x\r\n\r\n");
    request(addr, req.as_bytes()).status
}

check!(
    slow_app_blocks_the_whole_loop,
    [Part3],
    options(sleepy()),
    |s| {
        // The lesson of part 3, asserted: the app runs on the loop thread, so
        // while one request sleeps nobody else is served. The fast request's
        // answer can only come after the slow one's was written, so by then
        // the slow answer is already waiting in its socket.
        let addr = s.addr();
        let mut slow = connect(addr);
        slow.write_all(b"GET /?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(slept(addr, 0), 200);
        slow.set_nonblocking(true).unwrap();
        let mut peek = [0u8; 16];
        let waiting = slow.peek(&mut peek);
        assert!(
            matches!(waiting, Ok(n) if n > 0),
            "the fast request overtook the sleeping one: {waiting:?}"
        );
    }
);

fn two_connections() -> Options {
    Options {
        max_connections: 2,
        ..Options::default()
    }
}

check!(
    full_server_answers_503,
    [Part3, Part4],
    options(two_connections()),
    |s| {
        let addr = s.addr();
        // Two idle keep-alive connections fill the server.
        let mut held: Vec<ResponseReader> =
            (0..2).map(|_| ResponseReader::new(connect(addr))).collect();
        for conn in &mut held {
            conn.stream().write_all(HELLO_REQ).unwrap();
            assert_eq!(conn.next("GET").unwrap().status, 200);
        }
        let r = request(addr, HELLO_REQ);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("Retry-After"), Some("1"));
        // Once one leaves, new clients are served again.
        drop(held.pop());
        let mut served = false;
        for _ in 0..50 {
            let r = request(addr, HELLO_REQ);
            if r.status == 200 {
                served = true;
                break;
            }
            // The server may not have seen the close yet; the loop's own
            // timing is what we wait on, in short steps.
            thread::sleep(Duration::from_millis(20));
        }
        assert!(served, "never served again after a slot freed");
    }
);

// Linux only: it lowers `ulimit -n` and reads `/proc`.
#[cfg(target_os = "linux")]
#[test]
fn out_of_file_descriptors_does_not_spin() {
    // With 32 descriptors, a few go to the process itself; 40 clients
    // make accept() fail with EMFILE while they are held open.
    let server = tests::Binary::spawn_with_fd_limit(
        Part::Part3.binary(),
        &["--app", "hello"],
        32,
    );
    let addr = server.addr();
    let held: Vec<_> = (0..40)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    let before = server.cpu_ticks();
    thread::sleep(Duration::from_secs(1));
    let used = server.cpu_ticks() - before;
    // A loop retrying accept() at once would burn ~100 ticks a second.
    assert!(used < 30, "{used} ticks of CPU in one second: spinning");
    drop(held);
    let mut served = false;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            s.set_read_timeout(Some(tests::client::TIMEOUT)).unwrap();
            if s.write_all(HELLO_REQ).is_ok() {
                let r = ResponseReader::new(s).next("GET");
                if r.is_ok_and(|r| r.status == 200) {
                    served = true;
                    break;
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "not serving after descriptors were freed");
}

// Unix only: a test cannot press Ctrl-C in a Windows console.
#[cfg(unix)]
#[test]
fn ctrl_c_ends_the_loop_cleanly() {
    let mut server =
        tests::Binary::spawn(Part::Part3.binary(), &["--app", "hello"]);
    assert_eq!(request(server.addr(), HELLO_REQ).status, 200);
    // An idle keep-alive connection must not hold the exit up.
    let mut idle = ResponseReader::new(connect(server.addr()));
    idle.stream().write_all(HELLO_REQ).unwrap();
    assert_eq!(idle.next("GET").unwrap().status, 200);
    server.signal("INT");
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(idle.closed(), "the idle connection was left open");
}
