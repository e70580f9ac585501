//! `part4-threads`' own flags. The checks every part shares (bad flags,
//! a busy port, `--help`) live in the shared suite, `tests/`; having an
//! integration test here also makes `cargo test` build this binary.

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
fn bad_pool_flags_are_one_line_and_exit_2() {
    for args in [
        &["--workers", "0"][..],
        &["--workers", "many"],
        &["--queue", "0"],
        &["--shutdown-timeout", "soon"],
        &["--dispatch", "quick"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
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
        "--dispatch",
    ] {
        assert!(text.contains(flag), "{flag} missing in {text}");
    }
}
