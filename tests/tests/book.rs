//! The book never drifts from the code: every `{{#include}}` names a file
//! that exists and, when it names an anchor, an anchor that is in it.
//! mdBook renders a wrong anchor as an empty listing without a warning,
//! so this test is the only thing that notices.

use std::fs;
use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

/// Every `{{#include …}}` and `{{#rustdoc_include …}}` in a chapter.
fn includes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let tail = &rest[start + 3..];
        let Some(end) = tail.find("}}") else { break };
        let inner = tail[..end].trim();
        for directive in ["include ", "rustdoc_include "] {
            if let Some(arg) = inner.strip_prefix(directive) {
                found.push(arg.trim().to_string());
            }
        }
        rest = &tail[end..];
    }
    found
}

#[test]
fn every_include_names_a_real_file_and_anchor() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for entry in fs::read_dir(book_src()).expect("book/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("chapter");
        for arg in includes(&text) {
            checked += 1;
            // path[:anchor or line range]
            let (file, selector) = match arg.split_once(':') {
                Some((f, s)) => (f, Some(s)),
                None => (arg.as_str(), None),
            };
            let target = path.parent().expect("dir").join(file);
            let Ok(source) = fs::read_to_string(&target) else {
                problems.push(format!("{}: no file {file}", path.display()));
                continue;
            };
            let Some(anchor) = selector else { continue };
            if anchor.chars().all(|c| c.is_ascii_digit() || c == ':') {
                problems.push(format!(
                    "{}: {arg}: include by anchor, not by line numbers",
                    path.display()
                ));
                continue;
            }
            let start = format!("ANCHOR: {anchor}");
            let end = format!("ANCHOR_END: {anchor}");
            let has = |marker: &str| {
                source.lines().any(|l| l.trim_end().ends_with(marker))
            };
            if !has(&start) || !has(&end) {
                problems
                    .push(format!("{}: {arg}: no such anchor", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
    // The book has listings; zero would mean this test parsed nothing.
    assert!(checked > 0, "found no includes at all");
}

#[test]
fn the_include_parser_sees_includes() {
    let text = "a {{#include ../../x.rs:one}} b {{#include y.txt}}";
    assert_eq!(includes(text), ["../../x.rs:one", "y.txt"]);
}
