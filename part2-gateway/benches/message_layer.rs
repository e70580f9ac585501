//! Criterion benchmarks of the message layer: the per-request CPU cost
//! that part 3 compares with hyper.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use part2_gateway::chunked::{ChunkedDecoder, LAST_CHUNK, encode_chunk};
use part2_gateway::request::{Limits, Version, parse_head};
use part2_gateway::response::{RequestFacts, write_head};

/// What Chrome sends for a page: about 500 bytes of headers.
const BROWSER_GET: &[u8] = b"GET /articles/socket-to-server?page=2 HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-User: ?1\r\n\
Sec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\r\n";

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse_head");
    group.throughput(Throughput::Bytes(BROWSER_GET.len() as u64));
    group.bench_function("browser_get", |b| {
        b.iter(|| parse_head(black_box(BROWSER_GET), &limits))
    });
    group.finish();
}

fn chunked(c: &mut Criterion) {
    let data = vec![b'x'; 4096];
    let mut wire = Vec::new();
    for _ in 0..16 {
        encode_chunk(&data, &mut wire);
    }
    wire.extend_from_slice(LAST_CHUNK);
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("decode_64k_in_4k_chunks", |b| {
        let mut out = Vec::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            let mut d = ChunkedDecoder::new(1 << 20, 1024);
            let n = d.decode(black_box(&wire), &mut out);
            assert!(d.is_done());
            n
        })
    });
    group.finish();
}

fn response(c: &mut Criterion) {
    let facts = RequestFacts {
        version: Version::Http11,
        head_method: false,
        keep_alive: true,
    };
    let headers = vec![(
        "Content-Type".to_string(),
        "text/plain; charset=utf-8".to_string(),
    )];
    let mut out = Vec::with_capacity(256);
    c.bench_function("write_head/small", |b| {
        b.iter(|| {
            out.clear();
            write_head(&mut out, &facts, 200, "OK", &headers, Some(13))
        })
    });
}

criterion_group!(benches, parse, chunked, response);
criterion_main!(benches);
