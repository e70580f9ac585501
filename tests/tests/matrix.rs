//! The book's capability matrix, generated from the suite's own marks.
//!
//! Every `check!(name, [Part1, …], …)` in `tests/tests/*.rs` says which
//! parts pass that check. This test builds the table of checks × parts
//! from those marks and compares it with `book/src/matrix.md`, so the
//! table in the book cannot claim what the suite does not test. A mark
//! `Part4` stands for both of part 4's dispatchers, as in `check!`.
//!
//! After adding or re-marking a check, regenerate the page with
//!
//! ```text
//! UPDATE_MATRIX=1 cargo test -p tests --test matrix
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Section titles for the files that hold checks, in reading order.
const SECTIONS: &[(&str, &str)] = &[
    ("hello.rs", "Hello, World! and clients that misbehave"),
    ("http.rs", "Honest HTTP/1.1"),
    ("apps.rs", "The apps, through a real server"),
    ("concurrency.rs", "Many clients at once"),
    ("threads.rs", "Slow apps, a worker pool, shutdown"),
    ("conformance.rs", "RFC 9110 and RFC 9112, rule by rule"),
    ("uploads.rs", "Uploads: bodies in files, timed by progress"),
];

/// The columns: a mark, and its heading.
const PARTS: &[(&str, &str)] = &[
    ("Part1", "Part 1"),
    ("Part2", "Part 2"),
    ("Part3", "Part 3"),
    ("Part4", "Part 4"),
    ("Part4Fast", "Part 4 fast"),
];

/// `(check name, parts)` for every `check!` in `source` (and every
/// `check_app!`, a check with an app of its own, marked the same way).
fn marks(source: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some((at, len)) = ["check!(", "check_app!("]
        .iter()
        .filter_map(|m| rest.find(m).map(|at| (at, m.len())))
        .min()
    {
        rest = &rest[at + len..];
        let Some(comma) = rest.find(',') else { break };
        let name = rest[..comma].trim().to_string();
        let Some(open) = rest.find('[') else { break };
        let Some(close) = rest.find(']') else { break };
        if close < open {
            continue;
        }
        let mut parts: Vec<String> = rest[open + 1..close]
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if parts.iter().any(|p| p == "Part4") {
            parts.push("Part4Fast".to_string());
        }
        // Skip the macro's own definition and doc examples.
        if name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            found.push((name, parts));
        }
    }
    found
}

/// A section title and its checks, each with the parts it is marked for.
type Section = (String, Vec<(String, Vec<String>)>);

fn render(sections: &BTreeMap<usize, Section>) -> String {
    let mut page = String::from(
        "# What each part can do\n\n\
         Generated from the marks of the shared test suite (`tests/tests/*.rs`) by\n\
         `tests/tests/matrix.rs`: a ✓ means the check runs against that part and passes.\n\
         A blank means the part does not have that behaviour, often on purpose: part 1\n\
         reads once and closes; part 2 serves one connection at a time.\n\n\
         *Part 4 fast* is part 4 with `--dispatch fast`, its tuned pool and dispatcher:\n\
         it passes every check part 4 does.\n",
    );
    let heads: String = PARTS.iter().map(|(_, h)| format!(" {h} |")).collect();
    let rule = ":-:|".repeat(PARTS.len());
    for (title, checks) in sections.values() {
        page.push_str(&format!(
            "\n## {title}\n\n| check |{heads}\n|---|{rule}\n"
        ));
        for (name, parts) in checks {
            page.push_str(&format!("| {} |", name.replace('_', " ")));
            for (part, _) in PARTS {
                let mark = if parts.iter().any(|p| p == part) {
                    " ✓ |"
                } else {
                    "  |"
                };
                page.push_str(mark);
            }
            page.push('\n');
        }
    }
    page
}

#[test]
fn the_matrix_in_the_book_matches_the_marks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut sections = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("tests/tests") {
        let path = entry.expect("entry").path();
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("")
            .to_string();
        let checks = marks(&fs::read_to_string(&path).expect("read"));
        if checks.is_empty() || file == "matrix.rs" {
            continue;
        }
        let Some(order) = SECTIONS.iter().position(|(f, _)| *f == file) else {
            panic!("{file} has checks but no section title in SECTIONS");
        };
        sections.insert(order, (SECTIONS[order].1.to_string(), checks));
    }
    let page = render(&sections);
    let target =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/matrix.md");
    if std::env::var_os("UPDATE_MATRIX").is_some() {
        fs::write(&target, &page).expect("write matrix.md");
        return;
    }
    let current = fs::read_to_string(&target).unwrap_or_default();
    assert!(
        current == page,
        "book/src/matrix.md is stale: run UPDATE_MATRIX=1 cargo test -p tests --test matrix"
    );
}

#[test]
fn marks_are_read_from_the_macro_calls() {
    let source = "check!(a_b, [Part1, Part3], |s| {});\ncheck!(\n    c,\n    [Part2],\n    options(x()),\ncheck!(d, [Part4], own_server, |p| {});";
    let found = marks(source);
    assert_eq!(
        found[0],
        ("a_b".to_string(), vec!["Part1".into(), "Part3".into()])
    );
    assert_eq!(found[1], ("c".to_string(), vec!["Part2".into()]));
    assert_eq!(
        found[2],
        ("d".to_string(), vec!["Part4".into(), "Part4Fast".into()])
    );
}
