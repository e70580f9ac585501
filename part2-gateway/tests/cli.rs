//! `part2-gateway`'s own command line. The checks every part shares (bad
//! flags, a busy port, `--help`) live in the shared suite, `tests/`;
//! having an integration test here also makes `cargo test` build this
//! binary for it.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_part2-gateway");

#[test]
fn help_says_which_part_this_is() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Part 2:"), "{text}");
    assert!(text.contains("Usage: part2-gateway"), "{text}");
}
