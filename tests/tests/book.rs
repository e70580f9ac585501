//! The book never drifts from the code: every `{{#include}}` names a file
//! that exists and, when it names an anchor, an anchor that is in it.
//! mdBook renders a wrong anchor as an empty listing without a warning,
//! so this test is the only thing that notices.
//!
//! It also holds the chapters to their shape: each chapter in SUMMARY.md
//! opens with what the reader will have at its end ("By the end of this
//! …") and ends with exercises whose solutions are folded in
//! `<details>`. The pages that are not chapters are named in
//! [`NOT_CHAPTERS`].

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
        // Only the first line of an included file would be indented, so
        // an indented include (in a list item, say) breaks the page.
        for line in text.lines().filter(|l| l.trim_start().starts_with("{{#")) {
            if line.starts_with(char::is_whitespace) {
                problems.push(format!(
                    "{}: an indented include: {}",
                    path.display(),
                    line.trim()
                ));
            }
        }
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

/// Pages in SUMMARY.md that are not chapters of the course, and why.
/// Everything after the `---` line (the appendices) is exempt too.
const NOT_CHAPTERS: &[(&str, &str)] = &[
    (
        "introduction.md",
        "the front page: what the parts build, setup, how to run things",
    ),
    (
        "matrix.md",
        "generated from the suite's marks by tests/matrix.rs",
    ),
];

/// Chapters that do not open with "By the end of this …" yet, and why.
/// The test fails once one of them does, so the exemption goes with it.
const NO_OPENING_YET: &[(&str, &str)] = &[];

/// The chapters in SUMMARY.md: each top-level page before the `---`
/// line, with the pages nested under it.
fn chapters(summary: &str) -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for line in summary.lines() {
        if line.trim() == "---" {
            break;
        }
        let (Some(open), Some(close)) = (line.find("]("), line.find(".md)"))
        else {
            continue;
        };
        let page = line[open + 2..close + 3].to_string();
        if line.starts_with(char::is_whitespace) {
            if let Some((_, nested)) = found.last_mut() {
                nested.push(page);
            }
        } else {
            found.push((page, Vec::new()));
        }
    }
    found
}

/// Whether the first paragraph after the page's title says what the
/// reader will have at the end.
fn opens_with_the_goal(page: &str) -> bool {
    page.lines()
        .find(|l| !(l.starts_with("# ") || l.trim().is_empty()))
        .is_some_and(|l| l.starts_with("By the end of this "))
}

/// Whether the text has an `## Exercises` section with a solution folded
/// in a `<details>` after it.
fn has_exercises_with_solutions(text: &str) -> bool {
    text.split_once("\n## Exercises\n")
        .is_some_and(|(_, rest)| {
            rest.contains("<details>") && rest.contains("<summary>Solution")
        })
}

#[test]
fn every_chapter_opens_with_its_goal_and_ends_with_exercises() {
    let read = |page: &str| {
        fs::read_to_string(book_src().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"))
    };
    let summary = read("SUMMARY.md");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (page, nested) in chapters(&summary) {
        if NOT_CHAPTERS.iter().any(|(p, _)| *p == page) {
            continue;
        }
        checked += 1;
        let text = read(&page);
        let exempt = NO_OPENING_YET.iter().any(|(p, _)| *p == page);
        match (opens_with_the_goal(&text), exempt) {
            (false, false) => problems.push(format!(
                "{page}: the first paragraph must start \"By the end of \
                 this …\" and say what the reader will have"
            )),
            (true, true) => problems.push(format!(
                "{page}: opens with its goal now; take it out of \
                 NO_OPENING_YET"
            )),
            _ => {}
        }
        // A chapter with sections ends with its last section's exercises.
        let all: String = std::iter::once(text)
            .chain(nested.iter().map(|p| read(p)))
            .collect();
        if !has_exercises_with_solutions(&all) {
            problems.push(format!(
                "{page}: no `## Exercises` section with a \
                 <details><summary>Solution</summary> fold"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Parts 1 to 4 and Measuring: zero would mean the parser saw nothing.
    assert!(checked >= 5, "found only {checked} chapters in SUMMARY.md");
}

#[test]
fn the_chapter_checks_see_what_they_look_for() {
    let summary = "# Summary\n\n[Intro](intro.md)\n\n- [One](one.md)\n  \
                   - [Sub](one-sub.md)\n- [Two](two.md)\n\n---\n\n- [App](app.md)\n";
    assert_eq!(
        chapters(summary),
        [
            ("intro.md".to_string(), vec![]),
            ("one.md".to_string(), vec!["one-sub.md".to_string()]),
            ("two.md".to_string(), vec![]),
        ]
    );
    assert!(opens_with_the_goal("# T\n\nBy the end of this part you…"));
    assert!(!opens_with_the_goal("# T\n\nThis part… By the end of this"));
    assert!(has_exercises_with_solutions(
        "x\n## Exercises\n\n### 1\n<details>\n<summary>Solution</summary>"
    ));
    assert!(!has_exercises_with_solutions(
        "<details><summary>Solution</summary>\n## Exercises\n\n### 1\n"
    ));
}

/// How the student edition is built: `book/student_edition.py` as an
/// mdBook preprocessor, named from the environment (the introduction's
/// "For teachers" gives the command).
const STUDENT_ENV: (&str, &str) = (
    "MDBOOK_PREPROCESSOR__STUDENT__COMMAND",
    "python3 student_edition.py",
);

/// The pieces of a solution's text that the built HTML must show as they
/// are: the runs of a line between characters that Markdown or HTML may
/// rewrite (markup, quotes, `&`, `<`), at least 25 characters long.
fn plain_runs(line: &str) -> Vec<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || " ,.;:!?/=+-".contains(c);
    line.split(|c: char| !safe(c))
        .flat_map(|run| run.split("--"))
        .flat_map(|run| run.split(".."))
        .map(str::trim)
        .filter(|run| run.len() >= 25)
        .map(str::to_string)
        .collect()
}

/// A line without its list marker (`- `, `* `, `1. `), which the HTML
/// does not show as text.
fn list_item_text(line: &str) -> &str {
    let trimmed = line.trim_start();
    let digits = trimmed.len()
        - trimmed
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    for marker in ["- ", "* "] {
        if let Some(rest) = trimmed.strip_prefix(marker) {
            return rest;
        }
    }
    match trimmed[digits..].strip_prefix(". ") {
        Some(rest) if digits > 0 => rest,
        _ => line,
    }
}

/// Every solution fold in `text`: the lines between `<details>` +
/// `<summary>Solution…` and `</details>`, without fenced code (which is
/// an include or a listing, not the solution's own words). The rest of
/// the text, outside the folds, goes to `outside`.
fn solution_folds(text: &str, outside: &mut String) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut folds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let opens = lines[i].trim() == "<details>"
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim().starts_with("<summary>Solution"));
        if !opens {
            outside.push_str(lines[i]);
            outside.push('\n');
            i += 1;
            continue;
        }
        let mut fold = Vec::new();
        let mut in_code = false;
        i += 2;
        while i < lines.len() && lines[i].trim() != "</details>" {
            if lines[i].trim_start().starts_with("```") {
                in_code = !in_code;
            } else if !in_code {
                fold.push(lines[i].to_string());
            }
            i += 1;
        }
        folds.push(fold);
        i += 1;
    }
    folds
}

/// The book built into a fresh directory (the student edition if
/// `student`); the text of its HTML pages, and of everything it wrote.
fn build_book(student: bool) -> (String, String) {
    let dir = std::env::temp_dir().join(format!(
        "socket-to-server-book-{}-{}",
        std::process::id(),
        if student { "student" } else { "teacher" }
    ));
    let _ = fs::remove_dir_all(&dir);
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book");
    let mut command = std::process::Command::new("mdbook");
    command.arg("build").arg(&book).arg("--dest-dir").arg(&dir);
    command.env_remove(STUDENT_ENV.0);
    if student {
        command.env(STUDENT_ENV.0, STUDENT_ENV.1);
    }
    let out = command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run mdbook ({e}): install it with \
             `cargo install --locked mdbook --version 0.5.4`"
        )
    });
    assert!(
        out.status.success(),
        "mdbook build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut html, mut all) = (String::new(), String::new());
    let mut dirs = vec![dir.clone()];
    while let Some(next) = dirs.pop() {
        for entry in fs::read_dir(&next).expect("built book") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(text) = fs::read_to_string(&path) {
                if path.extension().is_some_and(|e| e == "html") {
                    html.push_str(&text);
                }
                all.push_str(&text);
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    (html, all)
}

#[test]
fn the_student_edition_leaves_out_every_solution_and_only_them() {
    let mut outside = String::new();
    let mut folds = Vec::new();
    for entry in fs::read_dir(book_src()).expect("book/src") {
        let path = entry.expect("entry").path();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "md") {
            for fold in solution_folds(&text, &mut outside) {
                folds.push((path.display().to_string(), fold));
            }
        }
    }
    // What the pages include, and the files copied as they are (sessions,
    // figures), may say the same as a solution: that is not the
    // solution's own text. Whole files, whatever the anchor.
    let mut others = vec![book_src()];
    while let Some(dir) = others.pop() {
        for entry in fs::read_dir(&dir).expect("book/src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                others.push(path);
            } else if path.extension().is_none_or(|e| e != "md") {
                outside
                    .push_str(&fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    for arg in includes(&outside.clone()) {
        let file = arg.split_once(':').map_or(arg.as_str(), |(f, _)| f);
        let path = book_src().join(file);
        outside.push_str(&fs::read_to_string(&path).unwrap_or_default());
    }
    assert!(folds.len() >= 40, "found only {} solutions", folds.len());

    let (teacher, _) = build_book(false);
    let (student_html, student_all) = build_book(true);
    let mut problems = Vec::new();
    for (page, fold) in &folds {
        // What the fold says in words of its own, found nowhere else.
        let runs: Vec<String> = fold
            .iter()
            .filter(|l| !l.trim_start().starts_with("{{#"))
            .flat_map(|l| plain_runs(list_item_text(l)))
            .filter(|run| !outside.contains(run.as_str()))
            .collect();
        if runs.is_empty() {
            problems.push(format!(
                "{page}: a solution with no plain sentence to check: {fold:?}"
            ));
        }
        for run in runs {
            if !teacher.contains(&run) {
                problems
                    .push(format!("{page}: teacher's edition lacks {run:?}"));
            }
            if student_all.contains(&run) {
                problems.push(format!("{page}: student edition has {run:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(teacher.contains("<summary>Solution"));
    assert!(!student_all.contains("<summary>Solution"));
    // The rest is still there: the exercises, and a word where each
    // solution was.
    for text in [&teacher, &student_html] {
        assert!(text.contains("Break <code>Content-Length</code>"));
    }
    assert!(student_html.contains("teacher’s edition of this book"));
}

#[test]
fn plain_runs_skip_what_markdown_rewrites() {
    assert_eq!(
        plain_runs("The `stop` flag exists for the tests, which start it."),
        [" flag exists for the tests, which start it.".trim()]
    );
    assert!(plain_runs("short, *and* `code`").is_empty());
    assert_eq!(
        plain_runs("it's \"quoted\" -- but this part is long enough"),
        ["but this part is long enough"]
    );
}
