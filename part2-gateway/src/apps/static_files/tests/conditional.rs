//! Unit tests of validators, conditional requests and ranges.

use super::*;
use std::time::{Duration, UNIX_EPOCH};

/// Sets the modification time of `root/name`.
fn touch(tmp: &TempDir, name: &str, when: SystemTime) {
    let file = File::options()
        .write(true)
        .open(tmp.0.join("root").join(name))
        .unwrap();
    file.set_modified(when).unwrap();
}

/// `hello.txt`, modified an hour ago, and its validators as sent.
fn dated_site() -> (TempDir, StaticFiles, String, String) {
    let (tmp, app) = site();
    touch(
        &tmp,
        "hello.txt",
        SystemTime::now() - Duration::from_secs(3600),
    );
    let (sr, _) = run(&app, "GET", "/hello.txt", &[]);
    let etag = sr.header("ETag").unwrap().to_string();
    let date = sr.header("Last-Modified").unwrap().to_string();
    (tmp, app, etag, date)
}

fn get(app: &StaticFiles, extra: &[(&str, &str)]) -> (u16, StartResponse) {
    let (sr, body) = run(app, "GET", "/hello.txt", extra);
    let code = status(&sr);
    if code == 304 {
        assert!(body.is_empty());
    }
    (code, sr)
}

#[test]
fn files_carry_a_strong_etag_and_accept_ranges() {
    let (tmp, app, etag, _) = dated_site();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(!etag[1..etag.len() - 1].contains('"'), "{etag}");
    let (sr, _) = run(&app, "GET", "/hello.txt", &[]);
    assert_eq!(sr.header("Accept-Ranges"), Some("bytes"));
    // HEAD: the very same header fields.
    let (head, body) = run(&app, "HEAD", "/hello.txt", &[]);
    assert!(body.is_empty());
    assert_eq!(head.headers(), sr.headers());
    // Another version of the file, another tag.
    fs::write(tmp.0.join("root/hello.txt"), "hello, world\n").unwrap();
    let (sr, _) = run(&app, "GET", "/hello.txt", &[]);
    assert_ne!(sr.header("ETag"), Some(etag.as_str()));
}

#[test]
fn if_none_match_compares_weakly() {
    let (_tmp, app, etag, date) = dated_site();
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {weak} ,\"x,y\"");
    for value in [etag.as_str(), &weak, &listed, "*"] {
        let (code, sr) = get(&app, &[("HTTP_IF_NONE_MATCH", value)]);
        assert_eq!(code, 304, "{value}");
        // 304: the tag, and none of the metadata the client has.
        assert_eq!(sr.header("ETag"), Some(etag.as_str()));
        assert_eq!(sr.header("Last-Modified"), None);
        assert_eq!(sr.header("Content-Type"), None);
        assert_eq!(sr.header("Content-Length"), None);
        let (sr, _) =
            run(&app, "HEAD", "/hello.txt", &[("HTTP_IF_NONE_MATCH", value)]);
        assert_eq!(status(&sr), 304, "HEAD {value}");
    }
    for value in ["\"other\"", "W/\"other\"", "garbage", "\"unclosed"] {
        assert_eq!(
            get(&app, &[("HTTP_IF_NONE_MATCH", value)]).0,
            200,
            "{value}"
        );
    }
    // If-None-Match wins over If-Modified-Since, both ways.
    let other = [
        ("HTTP_IF_NONE_MATCH", "\"other\""),
        ("HTTP_IF_MODIFIED_SINCE", &date),
    ];
    assert_eq!(get(&app, &other).0, 200);
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    let ours = [
        ("HTTP_IF_NONE_MATCH", etag.as_str()),
        ("HTTP_IF_MODIFIED_SINCE", old),
    ];
    assert_eq!(get(&app, &ours).0, 304);
}

#[test]
fn if_match_compares_strongly() {
    let (_tmp, app, etag, _) = dated_site();
    let listed = format!("\"other\", {etag}");
    for value in [etag.as_str(), &listed, "*"] {
        assert_eq!(get(&app, &[("HTTP_IF_MATCH", value)]).0, 200, "{value}");
    }
    let weak = format!("W/{etag}");
    for value in [weak.as_str(), "\"other\"", "garbage"] {
        let (sr, body) =
            run(&app, "GET", "/hello.txt", &[("HTTP_IF_MATCH", value)]);
        assert_eq!(status(&sr), 412, "{value}");
        assert_eq!(body, b"412 Precondition Failed\n");
    }
    // If-Match first: it fails before If-None-Match could say 304.
    let both = [
        ("HTTP_IF_MATCH", "\"other\""),
        ("HTTP_IF_NONE_MATCH", etag.as_str()),
    ];
    assert_eq!(get(&app, &both).0, 412);
    // ... and it makes If-Unmodified-Since ignored.
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    let ours = [
        ("HTTP_IF_MATCH", etag.as_str()),
        ("HTTP_IF_UNMODIFIED_SINCE", old),
    ];
    assert_eq!(get(&app, &ours).0, 200);
}

#[test]
fn if_unmodified_since() {
    let (_tmp, app, _, date) = dated_site();
    let modified = parse_http_date(&date).unwrap();
    let earlier = http_date(modified - TimeDelta::seconds(1));
    let later = http_date(modified + TimeDelta::seconds(60));
    for (since, want) in [(&date, 200), (&later, 200), (&earlier, 412)] {
        let ius = [("HTTP_IF_UNMODIFIED_SINCE", since.as_str())];
        assert_eq!(get(&app, &ius).0, want, "{since}");
    }
    // Not a date, or a list of them: ignored.
    let list = format!("{earlier}, {earlier}");
    for bad in ["yesterday", list.as_str()] {
        assert_eq!(get(&app, &[("HTTP_IF_UNMODIFIED_SINCE", bad)]).0, 200);
    }
    // A failed If-Unmodified-Since comes before a 304.
    let both = [
        ("HTTP_IF_UNMODIFIED_SINCE", earlier.as_str()),
        ("HTTP_IF_MODIFIED_SINCE", date.as_str()),
    ];
    assert_eq!(get(&app, &both).0, 412);
}

#[test]
fn conditions_only_apply_to_a_file_that_is_there() {
    // 404 and 301 come first (RFC 9110 §13.2.1), whatever the conditions.
    let (_tmp, app) = site();
    let cond = [("HTTP_IF_MATCH", "\"x\""), ("HTTP_IF_NONE_MATCH", "*")];
    assert_eq!(status(&run(&app, "GET", "/nope.txt", &cond).0), 404);
    assert_eq!(status(&run(&app, "GET", "/docs", &cond).0), 301);
    assert_eq!(status(&run(&app, "POST", "/hello.txt", &cond).0), 405);
}

#[test]
fn a_file_dated_in_the_future_is_sent_as_modified_now() {
    let (tmp, app) = site();
    let future = SystemTime::now() + Duration::from_secs(86_400);
    touch(&tmp, "hello.txt", future);
    let before = SystemTime::now();
    let (sr, _) = run(&app, "GET", "/hello.txt", &[]);
    let sent = parse_http_date(sr.header("Last-Modified").unwrap()).unwrap();
    let now = DateTime::<Utc>::from(SystemTime::now());
    assert!(sent <= now, "{sent} is later than {now}");
    assert!(sent.timestamp() >= DateTime::<Utc>::from(before).timestamp());
}

fn ranged(
    app: &StaticFiles,
    range: &str,
    extra: &[(&str, &str)],
) -> (StartResponse, Vec<u8>) {
    let mut vars = vec![("HTTP_RANGE", range)];
    vars.extend_from_slice(extra);
    run(app, "GET", "/hello.txt", &vars)
}

#[test]
fn one_range_is_206_with_content_range() {
    let (_tmp, app, etag, _) = dated_site();
    for (range, want, content_range) in [
        ("bytes=0-3", &b"hell"[..], "bytes 0-3/6"),
        ("bytes=4-", b"o\n", "bytes 4-5/6"),
        ("bytes=-2", b"o\n", "bytes 4-5/6"),
        ("bytes=1-1", b"e", "bytes 1-1/6"),
        ("bytes=2-100", b"llo\n", "bytes 2-5/6"),
    ] {
        let (sr, body) = ranged(&app, range, &[]);
        assert_eq!(status(&sr), 206, "{range}");
        assert_eq!(body, want, "{range}");
        assert_eq!(sr.header("Content-Range"), Some(content_range));
        assert_eq!(
            sr.header("Content-Length"),
            Some(want.len().to_string().as_str())
        );
        // What a 200 would have carried, too (RFC 9110 §15.3.7).
        assert_eq!(sr.header("ETag"), Some(etag.as_str()));
        assert_eq!(
            sr.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(sr.header("Last-Modified").is_some());
    }
}

#[test]
fn unsatisfiable_ranges_are_416_with_the_length() {
    let (_tmp, app, _, _) = dated_site();
    for range in ["bytes=6-", "bytes=100-200", "bytes=-0", "bytes=6-, 9-"] {
        let (sr, body) = ranged(&app, range, &[]);
        assert_eq!(status(&sr), 416, "{range}");
        assert_eq!(sr.header("Content-Range"), Some("bytes */6"));
        assert_eq!(body, b"416 Range Not Satisfiable\n");
    }
}

#[test]
fn ignored_ranges_get_the_whole_file() {
    let (tmp, app, _, _) = dated_site();
    for range in ["bytes=0-1,3-4", "items=0-1", "bytes=3-1", "bytes=x"] {
        let (sr, body) = ranged(&app, range, &[]);
        assert_eq!(
            (status(&sr), body.as_slice()),
            (200, &b"hello\n"[..]),
            "{range}"
        );
        assert_eq!(sr.header("Content-Range"), None);
    }
    // Content-Range means nothing in a GET (RFC 9110 §14.4).
    let (sr, body) = run(
        &app,
        "GET",
        "/hello.txt",
        &[("HTTP_CONTENT_RANGE", "bytes 0-1/6")],
    );
    assert_eq!((status(&sr), body.as_slice()), (200, &b"hello\n"[..]));
    // Ranges are for GET: a HEAD gets the head of the whole file.
    let (sr, _) =
        run(&app, "HEAD", "/hello.txt", &[("HTTP_RANGE", "bytes=0-1")]);
    assert_eq!(status(&sr), 200);
    assert_eq!(sr.header("Content-Length"), Some("6"));
    // An empty file: nothing to point at.
    fs::write(tmp.0.join("root/empty.txt"), "").unwrap();
    let (sr, _) = run(&app, "GET", "/empty.txt", &[("HTTP_RANGE", "bytes=0-")]);
    assert_eq!(status(&sr), 200);
}

#[test]
fn if_range_with_a_tag_or_a_date() {
    let (_tmp, app, etag, date) = dated_site();
    let weak = format!("W/{etag}");
    // The current version: the part. Any other: the whole file.
    for (if_range, want) in [
        (etag.as_str(), 206),
        (date.as_str(), 206),
        ("\"other\"", 200),
        (weak.as_str(), 200),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 200),
        ("not a validator", 200),
    ] {
        let (sr, _) = ranged(&app, "bytes=0-1", &[("HTTP_IF_RANGE", if_range)]);
        assert_eq!(status(&sr), want, "{if_range}");
    }
    // Without Range, If-Range means nothing.
    let (sr, _) =
        run(&app, "GET", "/hello.txt", &[("HTTP_IF_RANGE", "\"other\"")]);
    assert_eq!(status(&sr), 200);
}

#[test]
fn a_date_from_this_very_second_is_too_weak_for_if_range() {
    // The file may change again within the second its date names, and
    // keep that date: only a tag can vouch for it until that second ends.
    let (tmp, _app) = site();
    let written = UNIX_EPOCH + Duration::from_millis(1_700_000_000_100);
    touch(&tmp, "hello.txt", written);
    let meta = fs::metadata(tmp.0.join("root/hello.txt")).unwrap();
    let date = "Tue, 14 Nov 2023 22:13:20 GMT";
    let same_second =
        Validators::of(&meta, written + Duration::from_millis(500));
    assert!(!same_second.strong_date);
    assert!(!precondition::if_range_holds(date, &same_second));
    let later = Validators::of(&meta, written + Duration::from_secs(1));
    assert!(later.strong_date);
    assert!(precondition::if_range_holds(date, &later));
    let tag = later.etag.clone().unwrap();
    assert!(precondition::if_range_holds(&tag, &same_second));
}

#[test]
fn a_range_deep_in_a_large_file_streams_from_there() {
    let (tmp, app) = site();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(tmp.0.join("root/big.bin"), &big).unwrap();
    let range = [("HTTP_RANGE", "bytes=100000-250000")];
    let (sr, body) = run(&app, "GET", "/big.bin", &range);
    assert_eq!(status(&sr), 206);
    assert_eq!(body, &big[100_000..=250_000]);
    assert_eq!(
        sr.header("Content-Range"),
        Some("bytes 100000-250000/300000")
    );
}
