//! Part 4's own checks: what the worker pool fixes (a slow app no longer
//! stops the world) and what it must not break (overload, panics,
//! clients that do not read, shutdown, leaks). Each runs against both
//! dispatchers, plain and fast.
//!
//! The leak check counts this process's descriptors and threads, so it
//! runs alone: every other check here holds [`shared`] while it runs,
//! from before it starts a server, and that is why they all use the
//! `own_server` form of `check!`.

// A failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::thread;
use std::time::{Duration, Instant};

use part2_gateway::{Body, Environ, StartResponse};
use tests::client::{ResponseReader, connect, request};
use tests::{
    Options, Part, TestServer, check, loop_config, start, start_threaded,
};

// For the shutdown checks, which signal the binary (Unix only).
#[cfg(unix)]
use tests::Binary;

static EXCLUSIVE: RwLock<()> = RwLock::new(());

/// Held by every check but the leak check, which takes [`EXCLUSIVE`]
/// for itself alone.
fn shared() -> RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().unwrap_or_else(PoisonError::into_inner)
}

fn sleepy(workers: usize, queue: usize) -> Options {
    Options {
        workers,
        queue,
        ..Options::app("sleep")
    }
}

/// Waits for a condition outside our control (another thread's state,
/// the kernel's), failing after `limit`.
fn eventually(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// An app that answers once `n` requests are inside it at the same time:
/// `together`. A request that waited 5 s without meeting the others
/// answers `alone`, and so do all after it, without waiting: on a server
/// that runs one request at a time they could never meet.
fn meeting(n: usize) -> part2_gateway::SharedApp {
    let room = Arc::new((Mutex::new((0, false)), Condvar::new()));
    Arc::new(move |_: &mut Environ<'_>, sr: &mut StartResponse| {
        let (arrived, changed) = &*room;
        let mut state = arrived.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += 1;
        changed.notify_all();
        let (mut state, _) = changed
            .wait_timeout_while(state, Duration::from_secs(5), |s| {
                s.0 < n && !s.1
            })
            .unwrap_or_else(PoisonError::into_inner);
        let together = state.0 >= n;
        state.1 |= !together;
        changed.notify_all();
        sr.start("200 OK", vec![("Content-Type".into(), "text/plain".into())]);
        Body::from(if together { "together\n" } else { "alone\n" })
    })
}

check!(
    eight_slow_requests_overlap_on_eight_workers,
    [Part4],
    lesson([Part2, Part3], "serves the requests one after another"),
    own_server,
    |part| {
        let _shared = shared();
        let options = Options {
            workers: 8,
            ..Options::default()
        };
        let server = tests::start_with_app(part, &options, Some(meeting(8)));
        let addr = server.addr();
        let clients: Vec<_> = (0..8)
            .map(|_| {
                thread::spawn(move || {
                    // Closed after the answer: part 2 serves the next
                    // client without waiting for this one to go idle.
                    let r = request(
                        addr,
                        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    );
                    assert_eq!(r.status, 200);
                    String::from_utf8_lossy(&r.body).into_owned()
                })
            })
            .collect();
        let answers: Vec<String> =
            clients.into_iter().map(|c| c.join().unwrap()).collect();
        // Each request waited in the app until all eight were in it: the
        // eight workers ran them at the same time. Parts 2 and 3 run the
        // app for one request at a time, so the first gives up waiting.
        assert!(
            answers.iter().all(|a| a == "together\n"),
            "serves the requests one after another: {answers:?}"
        );
    }
);

check!(
    a_fast_request_overtakes_a_slow_one,
    [Part4],
    lesson([Part2, Part3], "the fast request waits for the slow one"),
    own_server,
    |part| {
        let _shared = shared();
        let server = start(part, &sleepy(2, 64));
        let addr = server.addr();
        let mut slow = connect(addr);
        // Closed after the answer: part 2 then goes on to the next client.
        slow.write_all(
            b"GET /?ms=1500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let fast = request(addr, b"GET /?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(fast.status, 200);
        // The fast answer is here; the slow one is not yet (the opposite of
        // part 3's `slow_app_blocks_the_whole_loop`).
        slow.set_nonblocking(true).unwrap();
        let mut peek = [0u8; 16];
        assert!(
            slow.peek(&mut peek).is_err(),
            "the fast request waits for the slow one, which finishes first"
        );
    }
);

check!(
    full_queue_gets_503_with_retry_after,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        // One worker and one queue slot: a third request at once is refused.
        let server = start(part, &sleepy(1, 1));
        let addr = server.addr();
        let mut readers: Vec<_> = (0..5)
            .map(|_| {
                let mut stream = connect(addr);
                stream
                    .write_all(b"GET /?ms=500 HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                ResponseReader::new(stream)
            })
            .collect();
        let mut ok = 0;
        let mut busy = 0;
        for reader in &mut readers {
            let r = reader.next("GET").unwrap();
            match r.status {
                200 => ok += 1,
                503 => {
                    busy += 1;
                    assert_eq!(r.header("Retry-After"), Some("1"), "{r:?}");
                    assert_eq!(r.header("Connection"), Some("close"), "{r:?}");
                    assert!(reader.closed(), "503 should close");
                }
                other => panic!("unexpected status {other}: {r:?}"),
            }
        }
        assert!(ok >= 1 && busy >= 3, "{ok} served, {busy} refused");
        // The overload passes: the next client is served again.
        let r = request(addr, b"GET /?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 200);
    }
);

/// A piece of `/big`'s body: 64 KiB of one byte, which changes from
/// piece to piece, so that a lost or reordered piece shows.
fn big_piece(n: usize) -> Vec<u8> {
    vec![b'a' + (n % 26) as u8; 64 * 1024]
}

/// How many pieces `/big` has: 16 MiB, far more than a job may get
/// ahead of its client.
const BIG_PIECES: usize = 256;

/// `/panic` panics in the app; `/body-panic` panics while its body is
/// pulled (outside the app, where `respond` cannot catch it), before
/// any byte is sent; `/late-panic` after its first 64 KiB; `/slow`
/// takes 200 ms; `/endless` never ends; `/big` is 16 MiB; anything
/// else says ok.
fn faulty(environ: &mut Environ<'_>, sr: &mut StartResponse) -> Body {
    let headers = vec![("Content-Type".into(), "text/plain".into())];
    match environ.path_info() {
        "/panic" => panic!("the app panics"),
        "/body-panic" => {
            sr.start("200 OK", headers);
            Body::stream(std::iter::from_fn(|| panic!("the body panics")))
        }
        "/late-panic" => {
            sr.start("200 OK", headers);
            let mut sent = false;
            Body::stream(std::iter::from_fn(move || {
                assert!(!sent, "the body panics midway");
                sent = true;
                Some(Ok(big_piece(0)))
            }))
        }
        "/slow" => {
            thread::sleep(Duration::from_millis(200));
            sr.start("200 OK", headers);
            Body::from("slow\n")
        }
        "/endless" => {
            sr.start("200 OK", headers);
            Body::stream(std::iter::repeat_with(|| Ok(vec![b'x'; 64 * 1024])))
        }
        "/big" => {
            sr.start("200 OK", headers);
            Body::stream((0..BIG_PIECES).map(|n| Ok(big_piece(n))))
        }
        _ => {
            sr.start("200 OK", headers);
            Body::from("ok\n")
        }
    }
}

fn start_faulty(
    part: Part,
    options: &Options,
    config: part3_selectors::Config,
) -> TestServer {
    start_threaded(part, Arc::new(faulty), options, config)
}

/// Part 4 with the faulty app, `workers` workers, and `write_timeout`
/// for a client that stops reading: for the checks with hogs.
fn start_write_timed(
    part: Part,
    workers: usize,
    write_timeout: Duration,
) -> TestServer {
    let options = Options {
        workers,
        ..Options::default()
    };
    let config = part3_selectors::Config {
        write_timeout,
        ..loop_config(&options)
    };
    start_faulty(part, &options, config)
}

/// A client that asks the faulty app for a body that never ends and
/// never reads a byte of it.
fn hog(addr: SocketAddr) -> TcpStream {
    let mut hog = connect(addr);
    hog.write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    hog
}

fn get(addr: SocketAddr, path: &str) -> tests::client::Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    request(addr, req.as_bytes())
}

check!(
    panics_get_500_and_the_pool_keeps_its_size,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let options = Options::default();
        let server = start_faulty(part, &options, loop_config(&options));
        let addr = server.addr();
        assert_eq!(server.workers().live(), 8);
        for _ in 0..10 {
            assert_eq!(get(addr, "/panic").status, 500);
            assert_eq!(get(addr, "/body-panic").status, 500);
            assert_eq!(get(addr, "/").body, b"ok\n");
        }
        assert_eq!(server.workers().live(), 8);
        eventually("no jobs in flight", Duration::from_secs(5), || {
            server.workers().in_flight() == 0
        });
    }
);

check!(
    a_body_that_panics_midway_cuts_the_response_off,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let options = Options::default();
        let server = start_faulty(part, &options, loop_config(&options));
        let addr = server.addr();
        let mut reader = ResponseReader::new(connect(addr));
        reader
            .stream()
            .write_all(b"GET /late-panic HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        // The head and the first 64 KiB went out as `200 OK`: too late
        // for a 500. The connection closes mid-body, which is how HTTP
        // says the response is incomplete.
        let cut = reader.next("GET");
        assert!(cut.is_err(), "a whole response: {cut:?}");
        assert!(reader.closed());
        assert_eq!(get(addr, "/").body, b"ok\n");
        assert_eq!(server.workers().live(), 8);
    }
);

check!(
    a_client_that_stops_reading_frees_its_worker,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let server = start_write_timed(part, 1, Duration::from_millis(300));
        let addr = server.addr();
        let hog = hog(addr);
        // The body never ends and `hog` never reads: once its mailbox is
        // full the job parks there and the only worker is free, so the
        // next request is served whether or not the write timeout has
        // fired yet.
        assert_eq!(get(addr, "/").status, 200);
        // The parked job counts in flight until the write timeout closes
        // the connection, which drops it (and its body) with the reply.
        eventually(
            "the parked job to be dropped",
            Duration::from_secs(10),
            || server.workers().in_flight() == 0,
        );
        assert_eq!(get(addr, "/").status, 200);
        drop(hog);
    }
);

check!(
    clients_that_never_read_hold_no_worker,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        // Long enough that the hogs stay connected for the whole test:
        // what frees the workers here is parking, not the timeout.
        let server = start_write_timed(part, 2, Duration::from_secs(30));
        let addr = server.addr();
        // As many hogs as workers.
        let hogs: Vec<_> = (0..2).map(|_| hog(addr)).collect();
        let limit = Duration::from_secs(10);
        eventually("both hogs in flight", limit, || {
            server.workers().in_flight() == 2
        });
        // Were the jobs to wait for room instead of parking, the two
        // workers would wait on the two hogs for the 30 s write timeout,
        // and these requests with them, past the client's 10 s timeout.
        for _ in 0..20 {
            let r = get(addr, "/");
            assert_eq!((r.status, r.body.as_slice()), (200, &b"ok\n"[..]));
        }
        // The hogs are still connected, their jobs parked, not finished.
        // (The last quick job may still be counting itself out: a client
        // can read its response before the worker lets go of the job.)
        eventually("only the hogs in flight", limit, || {
            server.workers().in_flight() == 2
        });
        for hog in hogs {
            tests::client::reset(hog);
        }
        // Their connections close, and the parked jobs go with them.
        eventually("no jobs in flight", limit, || {
            server.workers().in_flight() == 0
        });
        assert_eq!(server.workers().live(), 2);
    }
);

check!(
    a_parked_response_resumes_and_arrives_whole,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let options = Options {
            workers: 1,
            ..Options::default()
        };
        let server = start_faulty(part, &options, loop_config(&options));
        let addr = server.addr();
        let mut big = ResponseReader::new(connect(addr));
        big.stream()
            .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        // Served by the only worker: so `/big`, unread, has parked.
        assert_eq!(get(addr, "/").status, 200);
        // Now read it: the loop resumes the job each time it has taken
        // the bytes, until all 16 MiB came, in order.
        let r = big.next("GET").unwrap();
        assert_eq!(r.body.len(), BIG_PIECES * 64 * 1024);
        for (n, piece) in r.body.chunks(64 * 1024).enumerate() {
            assert!(piece == big_piece(n), "piece {n} is wrong");
        }
        // Keep-alive: the connection serves the next request.
        big.stream()
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(big.next("GET").unwrap().body, b"ok\n");
    }
);

/// How long the shutdown checks wait for part 4 to exit once signalled.
#[cfg(unix)]
const WAIT: Duration = Duration::from_secs(10);

/// Part 4's binary with the sleep app, `--verbose` and `args`, and a
/// connection whose request, to sleep `ms`, a worker is running: for the
/// shutdown checks, which signal it (Unix only).
#[cfg(unix)]
fn sleeping(part: Part, ms: u64, args: &[&str]) -> (Binary, TcpStream) {
    let flags = ["--app", "sleep", "--verbose"];
    let all: Vec<&str> = flags.iter().chain(args).copied().collect();
    let server = Binary::spawn_logged(part, &all);
    let mut stream = connect(server.addr());
    let line = format!("GET /?ms={ms} HTTP/1.1");
    stream
        .write_all(format!("{line}\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    // `--verbose` prints the request head once the loop has parsed it
    // and handed it to a worker: now the request is in flight.
    server.lines_until(&format!("< {line}"));
    (server, stream)
}

// Unix only, as the signals these three send.
#[cfg(unix)]
check!(
    sigint_lets_the_request_in_flight_finish,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let (mut server, stream) = sleeping(part, 1000, &["--workers", "2"]);
        let signalled = Instant::now();
        server.signal("INT");
        let r = ResponseReader::new(stream).next("GET").unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"slept 1000 ms\n"[..])
        );
        assert_eq!(server.wait_exit(WAIT), Some(0));
        // It did not sit out its 10 s shutdown timeout: the last job's
        // end woke the draining loop.
        assert!(signalled.elapsed() < Duration::from_secs(5));
    }
);

// RFC 9112 §9.6: a server that will close after a response SHOULD say
// `Connection: close` in it. The app of a keep-alive request still runs
// on a worker when the shutdown begins, so its head is made after that:
// it says so, and the connection closes after it.
#[cfg(unix)]
check!(
    sigint_while_the_app_runs_says_close,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let (mut server, stream) = sleeping(part, 1000, &[]);
        server.signal("INT");
        let mut reader = ResponseReader::new(stream);
        let r = reader.next("GET").unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (200, &b"slept 1000 ms\n"[..])
        );
        assert_eq!(r.header("Connection"), Some("close"), "{r:?}");
        assert!(reader.closed(), "the connection was left open");
        assert_eq!(server.wait_exit(WAIT), Some(0));
    }
);

#[cfg(unix)]
check!(
    a_request_past_the_shutdown_timeout_is_cut_off,
    [Part4],
    own_server,
    |part| {
        let _shared = shared();
        let (mut server, stream) =
            sleeping(part, 10_000, &["--shutdown-timeout", "1"]);
        server.signal("TERM");
        // The process leaves the stuck worker behind and exits cleanly,
        // before the request is done; the client gets no answer.
        assert_eq!(server.wait_exit(WAIT), Some(0));
        let mut reader = ResponseReader::new(stream);
        assert!(reader.closed(), "the connection was left open");
    }
);

#[cfg(target_os = "linux")]
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Threads of our servers, by the names the loop and the pool give
/// them. (Counting every thread would count the test harness's too,
/// which starts threads for the next tests whenever it likes.)
#[cfg(target_os = "linux")]
fn server_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .flatten()
        .filter(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm"));
            let comm = comm.unwrap_or_default();
            comm.starts_with("worker-") || comm.starts_with("event-loop")
        })
        .count()
}

// Linux only: it counts descriptors and threads in `/proc`.
#[cfg(target_os = "linux")]
check!(
    no_leaks_after_ten_thousand_requests,
    [Part4],
    own_server,
    |part| {
        let _alone = EXCLUSIVE.write().unwrap_or_else(PoisonError::into_inner);
        let (fds_before, threads_before) = (open_fds(), server_threads());
        let options = Options::default();
        let server = start_faulty(part, &options, loop_config(&options));
        let addr = server.addr();
        let fds_serving = open_fds();
        // A thread names itself once it runs: wait for all to be counted.
        let limit = Duration::from_secs(10);
        eventually("8 workers and a loop", limit, || {
            server_threads() == threads_before + 8 + 1
        });
        // 10 keep-alive clients, 1,000 requests each.
        let clients: Vec<_> = (0..10)
            .map(|_| {
                thread::spawn(move || {
                    let mut reader = ResponseReader::new(connect(addr));
                    for _ in 0..1000 {
                        reader
                            .stream()
                            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                            .unwrap();
                        assert_eq!(reader.next("GET").unwrap().body, b"ok\n");
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        // Clients that leave while a worker runs their request.
        for _ in 0..20 {
            let mut stream = connect(addr);
            stream
                .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            tests::client::reset(stream);
        }
        eventually("no jobs in flight", limit, || {
            server.workers().in_flight() == 0
        });
        // Every connection is closed on the server's side too.
        eventually("connections closed", limit, || open_fds() <= fds_serving);
        assert_eq!(server.workers().live(), 8);
        drop(server);
        // The loop thread and the workers are joined, every socket closed.
        eventually("threads joined", limit, || {
            server_threads() <= threads_before
        });
        eventually("descriptors closed", limit, || open_fds() <= fds_before);
    }
);
