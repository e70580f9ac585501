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
//!
//! And it keeps the listings and words honest: every anchor in the code
//! is opened once, closed, and shown by some chapter ([`NOT_INCLUDED`]
//! names the exceptions); every terminal session is fenced as
//! ```` ```text ````; and a chapter (with the pages nested under it) never
//! uses a term of the glossary before the paragraph where it defines the
//! term, in bold or italics, or links it to the glossary. A link to a
//! heading (`part3.md#c10k`) must find it: mdBook leaves a broken one
//! at the top of the page without a word.

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

/// The workspace: the directory above `tests/`.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace")
}

/// Every file of the workspace that a listing could come from: all of it
/// but build output, version control, the book's own pages and this file
/// (whose tests write anchors in strings).
fn source_files() -> Vec<PathBuf> {
    let root = workspace();
    let this = root.join("tests/tests/book.rs");
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("workspace dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                let skip = name.starts_with('.')
                    || name == "target"
                    || path == root.join("book");
                if !skip {
                    dirs.push(path);
                }
            } else if path != this {
                found.push(path);
            }
        }
    }
    found
}

/// The anchors a file opens, as mdBook finds them: `ANCHOR: name` (and
/// `ANCHOR_END: name`) anywhere in a line. Each with its line number.
fn anchor_markers(text: &str, marker: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let Some(at) = line.find(marker) else {
            continue;
        };
        let name: String = line[at + marker.len()..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !name.is_empty() {
            found.push((name, number + 1));
        }
    }
    found
}

/// Anchors that no chapter includes, each with the reason it may stay:
/// a path (a whole directory or file) or `path:anchor`, relative to the
/// workspace. An entry that excuses nothing fails the test, so it goes
/// as soon as its reason does.
const NOT_INCLUDED: &[(&str, &str)] = &[];

#[test]
fn every_anchor_is_opened_once_closed_and_included() {
    let root = workspace();
    // What the chapters include: (file, Some(anchor)), or (file, None)
    // for a whole file.
    let mut included = Vec::new();
    for entry in fs::read_dir(book_src()).expect("book/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("chapter");
        for arg in includes(&text) {
            let (file, anchor) = match arg.split_once(':') {
                Some((f, a)) => (f, Some(a.to_string())),
                None => (arg.as_str(), None),
            };
            if let Ok(file) = book_src().join(file).canonicalize() {
                included.push((file, anchor));
            }
        }
    }
    let mut problems = Vec::new();
    let mut excused = vec![false; NOT_INCLUDED.len()];
    let mut anchors = 0;
    for path in source_files() {
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // not text
        };
        let relative = path.strip_prefix(&root).expect("in workspace");
        let relative = relative.to_string_lossy().replace('\\', "/");
        let opened = anchor_markers(&text, "ANCHOR:");
        let closed = anchor_markers(&text, "ANCHOR_END:");
        for (name, line) in &opened {
            anchors += 1;
            let here = format!("{relative}:{name}");
            let lines: Vec<String> = opened
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, l)| l.to_string())
                .collect();
            if lines.len() > 1 && lines[0] == line.to_string() {
                // mdBook would show every region between them as one.
                problems.push(format!(
                    "{here}: opened {} times (lines {})",
                    lines.len(),
                    lines.join(", ")
                ));
            }
            if !closed.iter().any(|(n, l)| n == name && l > line) {
                problems.push(format!(
                    "{here}: opened on line {line}, never closed"
                ));
            }
            let shown = included.iter().any(|(file, anchor)| {
                *file == path && anchor.as_ref().is_none_or(|a| a == name)
            });
            if shown {
                continue;
            }
            let excuse = NOT_INCLUDED.iter().position(|(prefix, _)| {
                if prefix.contains(':') {
                    here == *prefix
                } else {
                    relative.starts_with(prefix)
                }
            });
            match excuse {
                Some(i) => excused[i] = true,
                None => problems.push(format!(
                    "{here}: no chapter includes it (show it, remove it, or \
                     name it in NOT_INCLUDED with a reason)"
                )),
            }
        }
    }
    for ((prefix, _), used) in NOT_INCLUDED.iter().zip(&excused) {
        if !used {
            problems.push(format!(
                "NOT_INCLUDED: {prefix} excuses no anchor any more: remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        anchors >= 40,
        "found only {anchors} anchors in the workspace"
    );
}

#[test]
fn anchor_markers_are_read_as_mdbook_reads_them() {
    let text = "// ANCHOR: one\nx\n    # ANCHOR:two-b\n// ANCHOR_END: one\n";
    assert_eq!(
        anchor_markers(text, "ANCHOR:"),
        [("one".to_string(), 1), ("two-b".to_string(), 3)]
    );
    assert_eq!(
        anchor_markers(text, "ANCHOR_END:"),
        [("one".to_string(), 4)]
    );
    // A format string is no anchor.
    assert!(anchor_markers("format!(\"ANCHOR: {a}\")", "ANCHOR:").is_empty());
}

/// The fenced blocks of a page: the tag after the opening fence, and the
/// lines inside.
fn fences(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut found = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(tag)) => {
                open = Some((tag.trim().to_string(), Vec::new()))
            }
            (Some(_), Some(_)) => found.extend(open.take()),
            (Some((_, lines)), None) => lines.push(line),
            (None, None) => {}
        }
    }
    found
}

/// The one tag of a terminal session's fence: plain text, which no
/// highlighter colours by guesswork.
const SESSION_TAG: &str = "text";

#[test]
fn every_session_is_fenced_as_text() {
    let mut problems = Vec::new();
    let mut sessions = 0;
    for entry in fs::read_dir(book_src()).expect("book/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("chapter");
        for (tag, lines) in fences(&text) {
            // A replayed session, or one shown as recorded (`$ command`).
            let session =
                lines.iter().any(|l| l.contains("#include sessions/"))
                    || lines.first().is_some_and(|l| l.starts_with("$ "));
            if !session {
                continue;
            }
            sessions += 1;
            if tag != SESSION_TAG {
                let first = lines.first().copied().unwrap_or("");
                problems.push(format!(
                    "{}: a session fenced as ```{tag}, not ```{SESSION_TAG}: {first}",
                    path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(sessions >= 50, "found only {sessions} sessions");
}

/// Chapters left out of the glossary check, and why. Temporary: the test
/// fails once one of them passes, so the exemption goes with it.
const GLOSSARY_EXEMPT: &[(&str, &str)] = &[];

/// The glossary's terms: the bold words that open its entries, an entry
/// such as `**epoll, kqueue**` giving two.
fn glossary_terms(glossary: &str) -> Vec<String> {
    glossary
        .split("\n\n")
        .filter_map(|entry| entry.trim_start().strip_prefix("**"))
        .filter_map(|rest| rest.split_once("**"))
        .flat_map(|(terms, _)| terms.split(", "))
        .map(str::to_string)
        .collect()
}

/// The paragraphs of a page, in order, without fenced blocks: the unit in
/// which a term is defined.
fn paragraphs(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            in_fence = !in_fence;
        }
        if fence || line.trim().is_empty() {
            if !current.is_empty() {
                found.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !in_fence {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.is_empty() {
        found.push(current);
    }
    found
}

/// Whether `term` occurs in `text` as a word (case aside), alone or with
/// a plural `s` or `es`.
fn has_word(text: &str, term: &str) -> bool {
    let text = text.to_lowercase();
    let term = term.to_lowercase();
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut from = 0;
    while let Some(at) = text[from..].find(&term) {
        let start = from + at;
        let end = start + term.len();
        let before = text[..start].chars().next_back();
        let rest = &text[end..];
        let rest = rest
            .strip_prefix("es")
            .filter(|r| !r.starts_with(word))
            .or_else(|| rest.strip_prefix('s'))
            .filter(|r| !r.starts_with(word))
            .unwrap_or(rest);
        if before.is_none_or(|c| !word(c)) && !rest.starts_with(word) {
            return true;
        }
        from = start + term.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// The text of `paragraph` that counts as using words: no headings, no
/// includes, no link targets, and no code spans except those that are a
/// glossary term themselves (`WouldBlock`).
fn prose(paragraph: &str, terms: &[String]) -> String {
    let text: String = paragraph
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.starts_with('#') || l.starts_with("{{#"))
        })
        .flat_map(|l| [l, "\n"])
        .collect();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(['`', ']']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        if rest[at..].starts_with("](") {
            // A link target: skip to its `)`.
            out.push(']');
            rest = tail[1..].split_once(')').map_or("", |(_, r)| r);
        } else if rest[at..].starts_with('`') {
            let (code, after) = tail.split_once('`').unwrap_or((tail, ""));
            if terms.iter().any(|t| t.eq_ignore_ascii_case(code)) {
                out.push_str(code);
            }
            out.push(' ');
            rest = after;
        } else {
            out.push(']');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Whether `paragraph` defines `term`: the term in bold or italics on its
/// own (`**slab**`, `*backlog*`, plural or with "the" before it), or a
/// link to the glossary whose text names it.
fn defines(paragraph: &str, term: &str) -> bool {
    let term = term.to_lowercase();
    let is_term = |span: &str| {
        let span = span.trim().trim_matches('`').to_lowercase();
        let span = span.trim_end_matches(['.', ',', ':', ';']);
        let span = ["the ", "a ", "an "]
            .iter()
            .find_map(|a| span.strip_prefix(a))
            .unwrap_or(span);
        let span = span.trim_matches('`');
        [term.clone(), format!("{term}s"), format!("{term}es")]
            .iter()
            .any(|t| t == span)
    };
    // Emphasis: `**…**` and `*…*` (a `*` before a space is a list marker).
    let mut rest = paragraph;
    while let Some(at) = rest.find('*') {
        let tail = &rest[at + 1..];
        let (span, after) = if let Some(bold) = tail.strip_prefix('*') {
            bold.split_once("**").unwrap_or((bold, ""))
        } else if tail.starts_with(char::is_whitespace) {
            ("", tail)
        } else {
            tail.split_once('*').unwrap_or((tail, ""))
        };
        if is_term(span) {
            return true;
        }
        rest = after;
    }
    // Links to the glossary.
    let mut rest = paragraph;
    while let Some(at) = rest.find("](") {
        let text = rest[..at].rsplit('[').next().unwrap_or("");
        let target = rest[at + 2..].split(')').next().unwrap_or("");
        if target.starts_with("appendix-glossary.md") && has_word(text, &term) {
            return true;
        }
        rest = &rest[at + 2..];
    }
    false
}

/// The first use of each glossary term in `pages` (one chapter, its
/// pages in order) that comes before the chapter defines the term, or
/// that the chapter never defines: as `(page, term, what)`.
fn undefined_uses(
    pages: &[(String, String)],
    terms: &[String],
) -> Vec<(String, String, String)> {
    let paragraphs: Vec<(&str, String)> = pages
        .iter()
        .flat_map(|(page, text)| {
            paragraphs(text)
                .into_iter()
                .map(move |p| (page.as_str(), p))
        })
        .collect();
    let mut found = Vec::new();
    for term in terms {
        let used = paragraphs
            .iter()
            .position(|(_, p)| has_word(&prose(p, terms), term));
        let Some(used) = used else { continue };
        let defined = paragraphs.iter().position(|(_, p)| defines(p, term));
        if defined.is_some_and(|d| d <= used) {
            continue;
        }
        let (page, paragraph) = &paragraphs[used];
        let start: String = paragraph.chars().take(70).collect();
        let what = match defined {
            Some(d) => format!(
                "used before the paragraph that defines it (in {}): {start:?}",
                paragraphs[d].0
            ),
            None => format!("used, never defined or linked: {start:?}"),
        };
        found.push((page.to_string(), term.clone(), what));
    }
    found
}

#[test]
fn every_chapter_defines_a_glossary_term_before_it_uses_it() {
    let read = |page: &str| {
        fs::read_to_string(book_src().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"))
    };
    let terms = glossary_terms(&read("appendix-glossary.md"));
    assert!(
        terms.len() >= 40,
        "found only {} glossary terms",
        terms.len()
    );
    let mut problems = Vec::new();
    for (page, nested) in chapters(&read("SUMMARY.md")) {
        if NOT_CHAPTERS.iter().any(|(p, _)| *p == page) {
            continue;
        }
        let pages: Vec<(String, String)> = std::iter::once(page.clone())
            .chain(nested)
            .map(|p| {
                let text = read(&p);
                (p, text)
            })
            .collect();
        let found = undefined_uses(&pages, &terms);
        let exempt = GLOSSARY_EXEMPT.iter().any(|(p, _)| *p == page);
        match (found.is_empty(), exempt) {
            (true, true) => problems.push(format!(
                "{page}: passes now; take it out of GLOSSARY_EXEMPT"
            )),
            (false, false) => {
                for (page, term, what) in found {
                    problems.push(format!("{page}: {term:?} {what}"));
                }
            }
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "a chapter defines a glossary term where it first uses it: in bold \
         or italics (**term**, *term*), or with a link to the glossary \
         ([term](appendix-glossary.md)):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_glossary_check_sees_uses_and_definitions() {
    let glossary = "# G\n\n**slab** — a vec.\n\n**epoll, kqueue** — x.\n\n\
                    **WouldBlock** — not now.\n";
    let terms = glossary_terms(glossary);
    assert_eq!(terms, ["slab", "epoll", "kqueue", "WouldBlock"]);
    assert!(has_word("two slabs.", "slab"));
    assert!(has_word("Slab", "slab"));
    assert!(!has_word("a slabber", "slab"));
    assert!(!has_word("epoll_wait", "epoll"));
    assert!(defines("A *slab* is a vec.", "slab"));
    assert!(defines("**The slab.** A vec.", "slab"));
    assert!(defines("See the [slab](appendix-glossary.md).", "slab"));
    assert!(!defines("The slab, in *bold* words.", "slab"));
    assert!(!defines("* slab\n* other", "slab"));
    // Code is no use of a word unless the code is the term.
    assert!(!has_word(&prose("call `epoll_wait(x)`", &terms), "epoll"));
    assert!(has_word(
        &prose("returns `WouldBlock`", &terms),
        "WouldBlock"
    ));
    assert!(!has_word(&prose("[x](slab.md)", &terms), "slab"));
    assert!(!has_word(&prose("## Slab\n", &terms), "slab"));
    let page = |text: &str| vec![("p.md".to_string(), text.to_string())];
    let terms = vec!["slab".to_string()];
    assert!(undefined_uses(&page("A *slab*.\n\nThe slab."), &terms).is_empty());
    assert!(undefined_uses(&page("Nothing here."), &terms).is_empty());
    assert_eq!(
        undefined_uses(&page("The slab.\n\nA *slab*."), &terms).len(),
        1
    );
    assert_eq!(undefined_uses(&page("The slab."), &terms).len(), 1);
    // Fenced code is not prose.
    assert!(undefined_uses(&page("```text\nslab\n```\n"), &terms).is_empty());
}

/// The ids mdBook gives the headings of a page, as it makes them: the
/// heading's text without its markup, lowercased, each space a `-`,
/// other punctuation dropped; an id already taken gets `-1`, `-2` …
fn heading_ids(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#');
        if in_fence || !heading.starts_with(' ') {
            continue;
        }
        // `[text](url)` shows as `text`.
        let mut shown = String::new();
        let mut rest = heading.trim();
        while let Some(open) = rest.find('[') {
            let Some(mid) = rest[open..].find("](") else {
                break;
            };
            let Some(close) = rest[open + mid..].find(')') else {
                break;
            };
            shown.push_str(&rest[..open]);
            shown.push_str(&rest[open + 1..open + mid]);
            rest = &rest[open + mid + close + 1..];
        }
        shown.push_str(rest);
        let base: String = shown
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '_' || c == '-' => {
                    Some(c.to_ascii_lowercase())
                }
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let mut id = base.clone();
        let mut n = 0;
        while ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.push(id);
    }
    ids
}

/// The links of a page to a heading, `[text](page.md#id)` or
/// `[text](#id)`: the page (empty for this one) and the id.
fn heading_links(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find([')', ' ', '\n']).unwrap_or(rest.len());
        let target = &rest[..end];
        if let Some((page, id)) = target.split_once('#')
            && (page.is_empty() || page.ends_with(".md"))
            && !page.contains("://")
        {
            found.push((page.to_string(), id.to_string()));
        }
    }
    found
}

#[test]
fn every_link_to_a_heading_finds_it() {
    let mut problems = Vec::new();
    let mut links = 0;
    for entry in fs::read_dir(book_src()).expect("book/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("chapter");
        for (page, id) in heading_links(&text) {
            links += 1;
            let target = match page.as_str() {
                "" => path.clone(),
                page => book_src().join(page),
            };
            let Ok(target_text) = fs::read_to_string(&target) else {
                problems.push(format!("{}: no page {page}", path.display()));
                continue;
            };
            if !heading_ids(&target_text).contains(&id) {
                problems.push(format!(
                    "{}: no heading #{id} in {}",
                    path.display(),
                    target.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(links >= 50, "found only {links} links to headings");
}

#[test]
fn heading_ids_are_made_as_mdbook_makes_them() {
    let page = "# Part 4\n\
                ## Where the plain dispatcher's time goes\n\
                ```text\n# not a heading\n```\n\
                ### 4. Slow readers against the `workers`\n\
                ## The bounded queue, and 503\n\
                ## The bounded queue, and 503\n\
                ## A [linked](x.md) word\n\
                #hashtag\n";
    assert_eq!(
        heading_ids(page),
        [
            "part-4",
            "where-the-plain-dispatchers-time-goes",
            "4-slow-readers-against-the-workers",
            "the-bounded-queue-and-503",
            "the-bounded-queue-and-503-1",
            "a-linked-word",
        ]
    );
    let text = "see [x](part3.md#c10k), [y](#here) and [z](https://a.b/#c)";
    assert_eq!(
        heading_links(text),
        [
            ("part3.md".to_string(), "c10k".to_string()),
            (String::new(), "here".to_string()),
        ]
    );
}
