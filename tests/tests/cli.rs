//! The command line every part shares, checked on every real binary:
//! a bad flag or a busy port is one clear line on stderr and exit code
//! 2; `--help` lists the flags and exits 0.

use std::net::TcpListener;
use std::process::Command;

use tests::{Part, binary_path};

const PARTS: &[Part] = &[Part::Part1, Part::Part2, Part::Part3, Part::Part4];

/// Runs `part`'s binary with `args`: exit code, stdout, stderr.
fn run(part: Part, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(binary_path(part.binary()))
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_are_one_line_and_exit_2() {
    for &part in PARTS {
        let mut bad = vec![&["--bogus"][..], &["--port", "x"], &["stray"]];
        if part != Part::Part1 {
            bad.push(&["--app", "nope"]);
        }
        for args in bad {
            let (code, _, err) = run(part, args);
            assert_eq!(code, Some(2), "{part:?} {args:?}");
            assert_eq!(err.lines().count(), 1, "{part:?} {args:?}: {err}");
        }
    }
    let (_, _, err) = run(Part::Part3, &["--app", "nope"]);
    assert!(err.contains("hello"), "the error lists the apps: {err}");
}

#[test]
fn busy_port_is_one_line_and_exit_2() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    for &part in PARTS {
        let (code, _, err) = run(part, &["--port", &port]);
        assert_eq!(code, Some(2), "{part:?}");
        assert_eq!(err.lines().count(), 1, "{part:?}: {err}");
        assert!(err.contains("cannot listen"), "{part:?}: {err}");
    }
}

#[test]
fn help_lists_the_flags_and_exits_0() {
    for &part in PARTS {
        let (code, text, _) = run(part, &["--help"]);
        assert_eq!(code, Some(0), "{part:?}");
        let mut flags = vec!["--host HOST", "--port PORT", "--help"];
        if part != Part::Part1 {
            flags.extend(["--app", "--root", "--cgi-dir", "--verbose"]);
        }
        for flag in flags {
            assert!(text.contains(flag), "{part:?}: {flag} missing in {text}");
        }
    }
}

#[test]
fn every_part_has_the_same_trace_flag() {
    let trace_line = |part| {
        let (_, text, _) = run(part, &["--help"]);
        text.lines()
            .find(|l| l.trim_start().starts_with("--trace"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{part:?} has no --trace: {text}"))
    };
    let first = trace_line(PARTS[0]);
    for &part in &PARTS[1..] {
        assert_eq!(trace_line(part), first, "{part:?}");
    }
}
