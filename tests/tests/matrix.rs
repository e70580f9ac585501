//! The book's capability matrix, generated from the suite's own marks.
//!
//! Every `check!(name, [Part1, …], …)` in `tests/tests/*.rs` says which
//! parts pass that check, and its `lesson([…], "…")`, if any, which parts
//! fail it on purpose (and are tested to). This test builds the table of
//! checks × parts from those marks and compares it with
//! `book/src/matrix.md`, so the table in the book cannot claim what the
//! suite does not test. A mark `Part4` stands for both of part 4's
//! dispatchers, as in `check!`.
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
    ("frameworks.rs", "Flask and Django through CGI"),
    ("concurrency.rs", "Many clients at once"),
    ("threads.rs", "Slow apps, a worker pool, shutdown"),
    ("conformance.rs", "RFC 9110 and RFC 9112, rule by rule"),
    ("uploads.rs", "Uploads: bodies in files, timed by progress"),
    ("trace.rs", "Watching it work: `--trace`"),
];

/// The columns: a mark, and its heading.
const PARTS: &[(&str, &str)] = &[
    ("Part1", "Part 1"),
    ("Part2", "Part 2"),
    ("Part3", "Part 3"),
    ("Part4", "Part 4"),
    ("Part4Fast", "Part 4 fast"),
];

/// Lessons the suite does not run: `(check, part, what the part does
/// instead, and why it is not run)`. A lesson that can be run is marked
/// in its `check!` with `lesson(…)` instead.
const UNRUN_LESSONS: &[(&str, &str, &str)] = &[(
    "thousand_clients_twenty_requests_each",
    "Part2",
    "one client at a time: each of the thousand waits for the ones before \
     it to go idle for five seconds (not run: that takes hours)",
)];

/// One check, as its `check!` marks it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marks {
    name: String,
    /// The parts that pass it.
    parts: Vec<String>,
    /// The parts that fail it on purpose, and what they do instead.
    lesson: Option<(Vec<String>, String)>,
}

/// The marks in `[Part1, Part3]`: the words between the brackets, and
/// `Part4Fast` wherever `Part4` is.
fn part_list(list: &str) -> Vec<String> {
    let mut parts: Vec<String> = list
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.iter().any(|p| p == "Part4") {
        parts.push("Part4Fast".to_string());
    }
    parts
}

/// `(check name, parts)` for every `check!` in `source` (and every
/// `check_app!`, a check with an app of its own, marked the same way),
/// with its `lesson([…], "…")` if it has one.
fn marks(source: &str) -> Vec<Marks> {
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
        let parts = part_list(&rest[open + 1..close]);
        let after = rest[close + 1..].trim_start();
        let after = after.strip_prefix(',').unwrap_or(after).trim_start();
        let lesson = after.strip_prefix("lesson([").and_then(|l| {
            let (list, l) = l.split_once(']')?;
            let (_, l) = l.split_once('"')?;
            let (why, _) = l.split_once('"')?;
            Some((part_list(list), why.to_string()))
        });
        // Skip the macro's own definition and doc examples.
        if name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            found.push(Marks {
                name,
                parts,
                lesson,
            });
        }
    }
    found
}

/// `n` in superscript digits, for a note's mark.
fn superscript(n: usize) -> String {
    const DIGITS: [char; 10] =
        ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .chars()
        .map(|d| DIGITS[d.to_digit(10).unwrap_or(0) as usize])
        .collect()
}

/// A section title and its checks.
type Section = (String, Vec<Marks>);

fn render(sections: &BTreeMap<usize, Section>) -> String {
    let mut page = String::from(
        "# What each part can do\n\n\
         Generated from the marks of the shared test suite (`tests/tests/*.rs`) by\n\
         `tests/tests/matrix.rs`. In each row, a part's column says one of three things:\n\n\
         - ✓: the check runs against that part and passes.\n\
         - ✗ with a note: the part fails the check on purpose, and its chapter shows why. The\n  \
         check runs against it too and must fail, the way the note under the table says:\n  \
         these are the lessons, tested like everything else (a note that says *not run*\n  \
         gives the reason).\n\
         - A blank: the check does not apply to that part. Part 1 reads once, closes, and\n  \
         answers everything with the same bytes, so most of HTTP is beyond it; only part 4\n  \
         has a worker pool and a queue.\n\n\
         *Part 4 fast* is part 4 with `--dispatch fast`, its tuned pool and dispatcher:\n\
         it passes every check part 4 does.\n",
    );
    let heads: String = PARTS.iter().map(|(_, h)| format!(" {h} |")).collect();
    let rule = ":-:|".repeat(PARTS.len());
    let heading = |part: &str| {
        PARTS
            .iter()
            .find(|(p, _)| *p == part)
            .map_or(part.to_string(), |(_, h)| (*h).to_string())
    };
    for (title, checks) in sections.values() {
        page.push_str(&format!(
            "\n## {title}\n\n| check |{heads}\n|---|{rule}\n"
        ));
        let mut notes = Vec::new();
        for check in checks {
            let mut lessons: Vec<(Vec<String>, String)> =
                check.lesson.iter().cloned().collect();
            for (name, part, why) in UNRUN_LESSONS {
                if *name == check.name {
                    lessons
                        .push((vec![(*part).to_string()], (*why).to_string()));
                }
            }
            page.push_str(&format!("| {} |", check.name.replace('_', " ")));
            let mut marks: Vec<String> = vec![String::new(); PARTS.len()];
            for (column, (part, _)) in PARTS.iter().enumerate() {
                if check.parts.iter().any(|p| p == part) {
                    marks[column] = "✓".to_string();
                }
            }
            for (parts, why) in lessons {
                notes.push((parts.clone(), why));
                let note = superscript(notes.len());
                for (column, (part, _)) in PARTS.iter().enumerate() {
                    if parts.iter().any(|p| p == part) {
                        marks[column] = format!("✗{note}");
                    }
                }
            }
            for mark in marks {
                page.push_str(&format!(" {mark} |"));
            }
            page.push('\n');
        }
        for (n, (parts, why)) in notes.iter().enumerate() {
            let names: Vec<String> = parts
                .iter()
                .filter(|p| *p != "Part4Fast")
                .map(|p| heading(p))
                .collect();
            page.push_str(&format!(
                "{}{} {}: {why}.\n",
                if n == 0 { "\n" } else { "" },
                superscript(n + 1),
                names.join(", ")
            ));
            if n + 1 < notes.len() {
                page.push('\n');
            }
        }
    }
    page
}

/// Every check in `tests/tests/`, by section.
fn sections() -> BTreeMap<usize, Section> {
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
    sections
}

#[test]
fn the_matrix_in_the_book_matches_the_marks() {
    let page = render(&sections());
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
fn every_lesson_not_run_names_a_check_and_a_part_it_does_not_pass() {
    let all: Vec<Marks> = sections()
        .into_values()
        .flat_map(|(_, checks)| checks)
        .collect();
    for (name, part, _) in UNRUN_LESSONS {
        let check = all.iter().find(|c| c.name == *name);
        let check = check.unwrap_or_else(|| panic!("no check {name}"));
        assert!(!check.parts.iter().any(|p| p == part), "{name} {part}");
        let run = check.lesson.as_ref().map_or(&[][..], |l| &l.0[..]);
        assert!(!run.iter().any(|p| p == part), "{name} {part}");
        assert!(PARTS.iter().any(|(p, _)| p == part), "{part}");
    }
}

#[test]
fn marks_are_read_from_the_macro_calls() {
    let source = "check!(a_b, [Part1, Part3], |s| {});\ncheck!(\n    c,\n    [Part2],\n    options(x()),\ncheck!(d, [Part4], own_server, |p| {});\ncheck!(\n    e,\n    [Part4],\n    lesson([Part2, Part3], \"one at a time\"),\n    own_server,";
    let found = marks(source);
    let plain = |name: &str, parts: &[&str]| Marks {
        name: name.into(),
        parts: parts.iter().map(|p| (*p).to_string()).collect(),
        lesson: None,
    };
    assert_eq!(found[0], plain("a_b", &["Part1", "Part3"]));
    assert_eq!(found[1], plain("c", &["Part2"]));
    assert_eq!(found[2], plain("d", &["Part4", "Part4Fast"]));
    assert_eq!(
        found[3],
        Marks {
            lesson: Some((
                vec!["Part2".into(), "Part3".into()],
                "one at a time".into()
            )),
            ..plain("e", &["Part4", "Part4Fast"])
        }
    );
}
