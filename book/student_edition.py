#!/usr/bin/env python3
"""The student edition of the book: the book without its exercise solutions.

mdBook runs this as a preprocessor when the build names it (the teacher's
edition, the default, does not), from the top of the workspace:

    MDBOOK_PREPROCESSOR__STUDENT__COMMAND='python3 student_edition.py' \\
        mdbook build book --dest-dir book/student

A solution is a `<details>` block whose `<summary>` starts with "Solution",
the way the chapters and labs fold them:

    <details>
    <summary>Solution</summary>

    The answer, in Markdown.

    </details>

Each one becomes a line saying that its solution is in the teacher's
edition. A solution that is never closed stops the build: a student edition
with half a solution in it would be worse than none. Standard library only.
"""

import json
import sys

NOTE = "*The solution is in the teacher's edition of this book.*"


def is_fence(line):
    """Whether the line opens or closes a fenced code block."""
    stripped = line.lstrip()
    return stripped.startswith("```") or stripped.startswith("~~~")


def starts_solution(lines, i):
    """Whether a solution fold starts at line `i`."""
    return (
        lines[i].strip() == "<details>"
        and i + 1 < len(lines)
        and lines[i + 1].strip().startswith("<summary>Solution")
    )


def strip_solutions(text, where):
    """The text with every solution fold replaced by NOTE; the count."""
    lines = text.split("\n")
    out = []
    removed = 0
    in_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if is_fence(line):
            in_code = not in_code
        if in_code or not starts_solution(lines, i):
            out.append(line)
            i += 1
            continue
        # Find the </details> that closes this fold, skipping code blocks
        # and counting any fold nested inside it.
        depth = 0
        inner_code = False
        end = None
        for j in range(i, len(lines)):
            current = lines[j].strip()
            if is_fence(current):
                inner_code = not inner_code
            if inner_code:
                continue
            if current.startswith("<details"):
                depth += 1
            elif current == "</details>":
                depth -= 1
                if depth == 0:
                    end = j
                    break
        if end is None:
            sys.exit(f"student_edition: {where}, line {i + 1}: "
                     "a solution's <details> is never closed")
        out.append(NOTE)
        removed += 1
        i = end + 1
    return "\n".join(out), removed


def visit(items, counts):
    """Strips the solutions from every chapter, nested ones included."""
    for item in items:
        chapter = item.get("Chapter") if isinstance(item, dict) else None
        if not chapter:
            continue
        where = chapter.get("source_path") or chapter.get("name", "?")
        chapter["content"], removed = strip_solutions(
            chapter.get("content", ""), where)
        counts[where] = removed
        visit(chapter.get("sub_items", []), counts)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        return 0  # every renderer: the output is still Markdown
    _context, book = json.load(sys.stdin)
    counts = {}
    # mdBook 0.5 calls them items; 0.4 called them sections.
    visit(book.get("items", book.get("sections", [])), counts)
    total = sum(counts.values())
    print(f"student_edition: left out {total} solutions", file=sys.stderr)
    json.dump(book, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
