use std::io::Read;
use std::net::SocketAddr;

use part2_gateway::request::RequestHead;

use super::*;

/// A directory of this test's own, empty, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path = std::env::temp_dir()
            .join(format!("spool-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn files(&self) -> usize {
        fs::read_dir(&self.0).unwrap().count()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Feeds `body` to a spool in pieces of `piece` bytes, as reads would.
fn spool(body: &[u8], piece: usize, in_memory: usize, dir: &Dir) -> Spool {
    let mut spool = Spool::default();
    for part in body.chunks(piece) {
        spool.buf().extend_from_slice(part);
        spool.settle(in_memory, &dir.0).unwrap();
    }
    spool
}

/// What the app reads from `body`, and what `take_body` says its length is.
fn read_back(body: RequestBody) -> (Vec<u8>, u64) {
    let head = RequestHead::default();
    let addr = SocketAddr::from(([127, 0, 0, 1], 8888));
    let mut environ = body.environ(&head, &ServerInfo::new(addr, addr));
    let (mut input, len) = environ.take_body().unwrap();
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).unwrap();
    (bytes, len)
}

#[test]
fn a_small_body_stays_in_memory() {
    let dir = Dir::new("small");
    let body = vec![7u8; 1000];
    let spool = spool(&body, 100, 1000, &dir);
    assert_eq!(dir.files(), 0);
    let whole = spool.finish().unwrap();
    assert!(matches!(whole, RequestBody::Memory(_)));
    assert_eq!(read_back(whole), (body, 1000));
}

#[test]
fn a_large_body_goes_to_a_file_removed_with_the_body() {
    let dir = Dir::new("large");
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let spool = spool(&body, 4096, 10_000, &dir);
    assert_eq!(dir.files(), 1, "spooled to a file");
    // Only what arrived since the last write is in memory, not the body.
    assert!(spool.mem.capacity() <= 10_000 + 4096);
    let whole = spool.finish().unwrap();
    let RequestBody::File(file) = &whole else {
        panic!("not in a file: {whole:?}");
    };
    assert_eq!(file.len(), body.len() as u64);
    assert!(file.path().starts_with(&dir.0));
    assert_eq!(read_back(whole), (body, 100_000));
    assert_eq!(dir.files(), 0, "the file went with the body");
}

#[test]
fn an_unfinished_spool_removes_its_file() {
    let dir = Dir::new("dropped");
    let spool = spool(&[1u8; 50_000], 8192, 1024, &dir);
    assert_eq!(dir.files(), 1);
    drop(spool); // a reset, an error, a shutdown
    assert_eq!(dir.files(), 0);
}

#[test]
fn no_directory_is_an_error_not_a_panic() {
    let dir = Dir::new("gone");
    let missing = dir.0.join("missing");
    let mut spool = Spool::default();
    spool.buf().extend_from_slice(&[0u8; 100]);
    assert!(spool.settle(10, &missing).is_err());
}
