//! The command line of `part4-threads`, run as a reader runs it. (Having
//! an integration test also makes `cargo test` build the binary, which
//! the shared suite in `tests/` runs too.)

use std::net::TcpListener;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_part4-threads");

/// Runs the binary with `args`; returns its exit code and stderr.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_are_one_line_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--app", "nope"],
        &["--workers", "0"],
        &["--workers", "many"],
        &["--queue", "0"],
        &["--shutdown-timeout", "soon"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn busy_port_is_one_line_and_exit_2() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (code, err) = run(&["--port", &port]);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot listen"), "{err}");
}

#[test]
fn help_lists_the_pool_flags() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--host",
        "--port",
        "--app",
        "--verbose",
        "--workers",
        "--queue",
        "--shutdown-timeout",
    ] {
        assert!(text.contains(flag), "{flag} missing in {text}");
    }
}
