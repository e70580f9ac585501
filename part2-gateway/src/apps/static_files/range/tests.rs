//! Unit tests of reading `Range` headers.

use super::*;

fn part(first: u64, last: u64) -> Ranged {
    Ranged::Part { first, last }
}

#[test]
fn one_range_of_each_form() {
    assert_eq!(ranged("bytes=0-4", 10), part(0, 4));
    assert_eq!(ranged("bytes=0-0", 10), part(0, 0));
    assert_eq!(ranged("bytes=3-", 10), part(3, 9));
    assert_eq!(ranged("bytes=-3", 10), part(7, 9));
    // Past the end is cut to the end; a suffix longer than the file is
    // the whole file.
    assert_eq!(ranged("bytes=5-99", 10), part(5, 9));
    assert_eq!(ranged("bytes=-99", 10), part(0, 9));
    // The unit is case-insensitive; list syntax allows empty elements
    // and whitespace around them.
    assert_eq!(ranged("BYTES=1-2", 10), part(1, 2));
    assert_eq!(ranged(" bytes= 1-2 ,, ", 10), part(1, 2));
}

#[test]
fn huge_numbers_saturate() {
    let huge = "99999999999999999999999999";
    assert_eq!(ranged(&format!("bytes=0-{huge}"), 10), part(0, 9));
    assert_eq!(ranged(&format!("bytes={huge}-"), 10), Ranged::Unsatisfiable);
    assert_eq!(ranged(&format!("bytes=-{huge}"), 10), part(0, 9));
    // The last byte of the largest file there could be.
    let last = u64::MAX - 1;
    assert_eq!(
        ranged(&format!("bytes={last}-"), u64::MAX),
        part(last, last)
    );
}

#[test]
fn outside_the_file_is_unsatisfiable() {
    assert_eq!(ranged("bytes=10-", 10), Ranged::Unsatisfiable);
    assert_eq!(ranged("bytes=10-20", 10), Ranged::Unsatisfiable);
    // A zero-length suffix asks for nothing.
    assert_eq!(ranged("bytes=-0", 10), Ranged::Unsatisfiable);
    assert_eq!(ranged("bytes=10-, 20-", 10), Ranged::Unsatisfiable);
}

#[test]
fn what_is_ignored_gets_the_whole_file() {
    for value in [
        "items=0-4",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes=4-3",
        "bytes=a-b",
        "bytes=1-2-3",
        "bytes=--1",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes = 0-4",
        "bytes=0 - 4",
        // Several ranges: the whole file rather than multipart.
        "bytes=0-1,3-4",
        "bytes=0-1, 20-",
        // One bad spec spoils the list.
        "bytes=0-1, x",
    ] {
        assert_eq!(ranged(value, 10), Ranged::Whole, "{value}");
    }
    // An empty file has no bytes to point at.
    assert_eq!(ranged("bytes=0-", 0), Ranged::Whole);
    assert_eq!(ranged("bytes=-5", 0), Ranged::Whole);
}

#[test]
fn content_range_headers() {
    let header = |part, len| content_range(part, len).1;
    assert_eq!(header(Some((0, 4)), 10), "bytes 0-4/10");
    assert_eq!(header(None, 10), "bytes */10");
    assert_eq!(content_range(None, 0).0, "Content-Range");
}
