//! Uploads: large request bodies wait in temporary files, not in memory
//! (parts 3 and 4), and a body is timed by its progress, not by one
//! deadline (parts 2 to 4), so an upload that keeps coming is never cut
//! off while one that stalls or trickles still is.
//!
//! Each check that spools gets a directory of its own for the files, so
//! that it can see them come and go.

// A failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use tests::client::{self, ResponseReader, connect, request};
use tests::{Options, Part, check, start};

/// A spool directory of one check's own, removed at the end.
struct SpoolDir(PathBuf);

impl SpoolDir {
    fn new(check: &str, part: Part) -> SpoolDir {
        let name = format!("s2s-{check}-{part:?}-{}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        SpoolDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The files in it now.
    fn files(&self) -> Vec<PathBuf> {
        fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    }
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Waits for a condition outside our control (the server's threads, the
/// file system), failing after `limit`.
fn eventually(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Echo, keeping at most 16 KiB of a body in memory, spooling to `dir`.
fn spooling(dir: &SpoolDir) -> Options {
    Options {
        body_in_memory: 16 * 1024,
        spool_dir: Some(dir.path().to_path_buf()),
        max_body: 4 * 1024 * 1024,
        ..Options::app("echo")
    }
}

/// Client `n`'s body: `len` bytes no other client sends.
fn body_of(n: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + n * 7) % 251) as u8).collect()
}

/// A POST to `/echo` of `len` bytes, framed by `Content-Length`.
fn post_head(len: usize) -> Vec<u8> {
    format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n")
        .into_bytes()
}

/// The same body, chunked: the server learns its length only at the end.
fn chunked_post(body: &[u8]) -> Vec<u8> {
    let mut req =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for chunk in body.chunks(100_000) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

/// Reads one response to a POST and checks it echoes `body` exactly.
fn expect_echo(stream: TcpStream, body: &[u8], who: &str) {
    let r = ResponseReader::new(stream).next("POST").unwrap();
    assert_eq!(r.status, 200, "{who}");
    assert_eq!(r.header("Content-Length"), Some(&*body.len().to_string()));
    assert!(r.body == body, "{who}: the echo differs from the upload");
}

check!(
    concurrent_uploads_spool_and_echo_byte_exact,
    [Part3, Part4],
    own_server,
    |part| {
        let dir = SpoolDir::new("concurrent", part);
        let server = start(part, &spooling(&dir));
        let addr = server.addr();
        const LEN: usize = 1024 * 1024;
        // One upload stops halfway: its body must be in a file by then,
        // not in memory.
        let half = body_of(0, LEN);
        let mut first = connect(addr);
        first.write_all(&post_head(LEN)).unwrap();
        first.write_all(&half[..LEN / 2]).unwrap();
        eventually("a spool file", client::TIMEOUT, || !dir.files().is_empty());
        // Sixteen more at once, half of them chunked.
        let start = Arc::new(Barrier::new(17));
        let clients: Vec<_> = (1..=16)
            .map(|n| {
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    let body = body_of(n, LEN);
                    let req = if n % 2 == 0 {
                        [post_head(LEN), body.clone()].concat()
                    } else {
                        chunked_post(&body)
                    };
                    let mut stream = connect(addr);
                    start.wait();
                    stream.write_all(&req).unwrap();
                    expect_echo(stream, &body, &format!("client {n}"));
                })
            })
            .collect();
        start.wait();
        first.write_all(&half[LEN / 2..]).unwrap();
        expect_echo(first, &half, "client 0");
        for client in clients {
            client.join().unwrap();
        }
        // Every file went with its request.
        eventually("no spool file left", client::TIMEOUT, || {
            dir.files().is_empty()
        });
    }
);

check!(
    small_bodies_stay_in_memory,
    [Part3, Part4],
    own_server,
    |part| {
        let dir = SpoolDir::new("small", part);
        let server = start(part, &spooling(&dir));
        let body = body_of(1, 16 * 1024);
        let mut stream = connect(server.addr());
        stream.write_all(&post_head(body.len())).unwrap();
        stream.write_all(&body).unwrap();
        expect_echo(stream, &body, "16 KiB");
        assert!(
            dir.files().is_empty(),
            "a body of the threshold was spooled"
        );
    }
);

check!(
    reset_in_a_spooled_body_leaves_no_file,
    [Part3, Part4],
    own_server,
    |part| {
        let dir = SpoolDir::new("reset", part);
        let server = start(part, &spooling(&dir));
        let mut stream = connect(server.addr());
        stream.write_all(&post_head(1024 * 1024)).unwrap();
        stream.write_all(&body_of(0, 256 * 1024)).unwrap();
        eventually("a spool file", client::TIMEOUT, || !dir.files().is_empty());
        client::reset(stream);
        eventually("the file removed", client::TIMEOUT, || {
            dir.files().is_empty()
        });
        let r =
            request(server.addr(), b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 200);
    }
);

check!(
    shutdown_in_a_spooled_body_leaves_no_file,
    [Part3, Part4],
    own_server,
    |part| {
        let dir = SpoolDir::new("shutdown", part);
        // The body may stall longer than the server drains (5 s).
        let options = Options {
            body_timeout: Duration::from_secs(60),
            ..spooling(&dir)
        };
        let server = start(part, &options);
        let mut stream = connect(server.addr());
        stream.write_all(&post_head(1024 * 1024)).unwrap();
        stream.write_all(&body_of(0, 256 * 1024)).unwrap();
        eventually("a spool file", client::TIMEOUT, || !dir.files().is_empty());
        // The loop drains for a while, then gives up on the upload.
        drop(server);
        assert!(dir.files().is_empty(), "a file outlived the server");
    }
);

/// Echo with a head deadline of 300 ms and a body that must arrive at
/// 1000 bytes a second, with at most `stall` in hand.
fn paced(stall: Duration) -> Options {
    Options {
        read_timeout: Duration::from_millis(300),
        body_timeout: stall,
        body_min_rate: 1000,
        ..Options::app("echo")
    }
}

check!(
    slow_but_steady_body_is_not_cut_off,
    [Part2, Part3, Part4],
    options(paced(Duration::from_millis(1500))),
    |s| {
        // 250 bytes every 50 ms, five times the minimum rate, for three
        // seconds: ten times the head's deadline, twice the stall.
        let body = body_of(3, 60 * 250);
        let mut stream = connect(s.addr());
        stream.set_nodelay(true).unwrap();
        stream.write_all(&post_head(body.len())).unwrap();
        for piece in body.chunks(250) {
            thread::sleep(Duration::from_millis(50));
            stream.write_all(piece).unwrap();
        }
        expect_echo(stream, &body, "steady");
    }
);

/// Sends `head` on `stream`, then, from a thread of its own, one byte
/// every `gap` until told to stop or the server closes.
fn trickle(
    stream: &TcpStream,
    head: &[u8],
    gap: Duration,
) -> (thread::JoinHandle<()>, Arc<AtomicBool>) {
    let mut writer = stream.try_clone().unwrap();
    writer.set_nodelay(true).unwrap();
    writer.write_all(head).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let trickler = thread::spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            if writer.write_all(b"x").is_err() {
                return; // closed on us: the answer says why
            }
            thread::sleep(gap);
        }
    });
    (trickler, stop)
}

check!(
    trickling_body_gets_408,
    [Part2, Part3, Part4],
    options(paced(Duration::from_millis(500))),
    |s| {
        // A byte every 20 ms never waits long between reads, but 50 bytes
        // a second is far below the 1000 asked for: the time it has in
        // hand runs out after about half a second.
        let stream = connect(s.addr());
        let (trickler, stop) =
            trickle(&stream, &post_head(1_000_000), Duration::from_millis(20));
        let mut reader = ResponseReader::new(stream);
        let r = reader.next("POST").unwrap();
        stop.store(true, Ordering::SeqCst);
        assert_eq!(r.status, 408);
        assert!(reader.closed());
        trickler.join().unwrap();
        let r = request(s.addr(), b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 200);
    }
);

check!(
    stalled_body_gets_408,
    [Part2, Part3, Part4],
    options(paced(Duration::from_millis(300))),
    |s| {
        let mut stream = connect(s.addr());
        stream.write_all(&post_head(10_000)).unwrap();
        stream.write_all(&body_of(0, 5_000)).unwrap();
        let mut reader = ResponseReader::new(stream);
        let r = reader.next("POST").unwrap();
        assert_eq!(r.status, 408);
        assert!(reader.closed());
        let r = request(s.addr(), b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 200);
    }
);

check!(slow_body_holds_no_worker, [Part4], own_server, |part| {
    // One worker: if the slow upload held it, nothing else would run.
    let options = Options {
        workers: 1,
        ..Options::app("echo")
    };
    let server = start(part, &options);
    let body = body_of(5, 100_000);
    let mut slow = connect(server.addr());
    slow.write_all(&post_head(body.len())).unwrap();
    slow.write_all(&body[..50_000]).unwrap();
    for _ in 0..10 {
        let r =
            request(server.addr(), b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.status, 200);
    }
    // The loop is reading the upload; no job is waiting on it.
    eventually("no job in flight", client::TIMEOUT, || {
        server.workers().in_flight() == 0
    });
    slow.write_all(&body[50_000..]).unwrap();
    expect_echo(slow, &body, "the slow upload");
});
