#!/usr/bin/env python3
"""Turns the CSV that bench/run.sh writes into the book's results table
(results.md) and a bar chart (chart.svg), next to the CSV.

    python3 bench/chart.py book/src/measuring/results.csv

Standard library only. The SVG is written by hand: three panels of
horizontal bars (CPU time per request, requests per second, memory per
idle connection), on a white background so that it reads in every
mdBook theme.
"""
import csv
import html
import sys
from pathlib import Path

KA, CL = "#3b6ea5", "#e08a2c"  # keep-alive blue, Connection: close orange
MEM = "#5a9e5a"


def read(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    meta: dict[str, str] = {}
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
        elif line.strip():
            lines.append(line)
    return meta, list(csv.DictReader(lines))


def num(row: dict[str, str], key: str) -> float | None:
    value = row.get(key, "")
    return float(value) if value not in ("", None) else None


def fmt_us(us: float | None) -> str:
    if us is None:
        return "–"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1e6:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1e6:.2f} s"


def fmt_int(n: float | None) -> str:
    return "–" if n is None else f"{n:,.0f}"


def fmt_f(n: float | None, digits: int = 1) -> str:
    return "–" if n is None else f"{n:,.{digits}f}"


def table(meta: dict[str, str], rows: list[dict[str, str]]) -> str:
    idle = int(meta.get("idle", "10000"))
    # Parts 1 and 2 serve one connection at a time (bench/run.sh).
    one_conn = any(r["name"].startswith(("part1", "part2")) for r in rows)
    out = [
        f"Measured {meta.get('date', '?')} on {meta.get('machine', '?')}; "
        f"load average {meta.get('loadavg before', '?')} before the run and "
        f"{meta.get('loadavg after', '?')} after it. "
        f"Every column is one run of `{meta.get('wrk', 'wrk')}`, one server at a time"
        + ("; parts 1 and 2 got `-c1` (see the text)" if one_conn else "")
        + ". CPU µs/req is the server's "
        "user + system time divided by the requests wrk counted.",
        "",
        "| server | conns | keep-alive r/s | p99 | CPU µs/req "
        "| `close` r/s | p99 | CPU µs/req "
        f"| RSS, {idle:,} idle | KiB per idle conn |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes = []
    for r in rows:
        out.append(
            "| {name} | {conns} | {karps} | {kap99} | {kacpu} | {clrps} | {clp99} "
            "| {clcpu} | {rss} | {kib} |".format(
                name=r["name"],
                conns=r["conns"],
                karps=fmt_int(num(r, "ka_rps")),
                kap99=fmt_us(num(r, "ka_p99_us")),
                kacpu=fmt_f(num(r, "ka_cpu_us"), 2),
                clrps=fmt_int(num(r, "cl_rps")),
                clp99=fmt_us(num(r, "cl_p99_us")),
                clcpu=fmt_f(num(r, "cl_cpu_us"), 2),
                rss="–" if num(r, "idle_rss_mib") is None
                else f"{num(r, 'idle_rss_mib'):,.1f} MiB",
                kib=fmt_f(num(r, "idle_kib_per_conn"), 2),
            )
        )
        for mode, label in (("ka", "keep-alive"), ("cl", "`Connection: close`")):
            errors = num(r, f"{mode}_errors")
            if errors:
                notes.append(
                    f"{r['name']}, {label}: wrk counted {errors:,.0f} socket "
                    "errors or non-2xx responses."
                )
    out.append("")
    out.append("A dash means the test was not run for that server.")
    if notes:
        out.append("")
        out.extend(f"- {n}" for n in notes)
    return "\n".join(out) + "\n"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def panel(
    y0: float,
    title: str,
    rows: list[dict[str, str]],
    series: list[tuple[str, str, str]],
    unit: str,
    digits: int,
) -> tuple[list[str], float]:
    """One panel of grouped horizontal bars. Returns its SVG and height.

    A bar far longer than every other server's bars would squash them
    into slivers, so the axis ends at 1.3 times the second-largest
    server's value and a longer bar is cut, with its value written out.
    """
    left, width, bar, gap = 200, 440, 11, 8
    shown = [r for r in rows if any(num(r, key) is not None for key, _, _ in series)]
    per_server = sorted(
        (max(num(r, key) or 0 for key, _, _ in series) for r in shown), reverse=True
    )
    top = per_server[0] if per_server else 1.0
    if len(per_server) > 1 and per_server[0] > 2.5 * per_server[1]:
        top = per_server[1] * 1.3
    top = top or 1.0
    parts = [
        f'<text x="10" y="{y0 + 16}" class="title">{esc(title)}</text>',
    ]
    y = y0 + 30
    for r in shown:
        values = [(num(r, key), color) for key, color, _ in series]
        group = bar * len(series)
        parts.append(
            f'<text x="{left - 8}" y="{y + group / 2 + 4}" class="label" '
            f'text-anchor="end">{esc(r["name"])}</text>'
        )
        if r.get("conns") == "1":
            parts.append(
                f'<text x="{left - 8}" y="{y + group / 2 + 15}" class="foot" '
                f'text-anchor="end">1 connection</text>'
            )
        for value, color in values:
            if value is not None:
                cut = value > top
                w = width * min(value, top) / top
                parts.append(
                    f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 1}" '
                    f'fill="{color}"/>'
                )
                if cut:
                    # Two white slashes: this bar is longer than drawn.
                    bx = left + w - 24
                    parts.append(
                        f'<path d="M{bx} {y + bar} l6 {-bar - 1} M{bx + 6} {y + bar} '
                        f'l6 {-bar - 1}" stroke="#fff" stroke-width="2.5"/>'
                    )
                text = f"{value:,.{digits}f}{unit}" + (" (cut)" if cut else "")
                parts.append(
                    f'<text x="{left + w + 4:.1f}" y="{y + bar - 2}" class="value">'
                    f"{esc(text)}</text>"
                )
            else:
                parts.append(
                    f'<text x="{left + 4}" y="{y + bar - 2}" class="foot">not run</text>'
                )
            y += bar
        y += gap
    # Legend, right-aligned under the title.
    lx = left + width - 10
    for key, color, name in reversed(series):
        lx -= 7 * len(name) + 24
        parts.append(
            f'<rect x="{lx}" y="{y0 + 6}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{y0 + 15}" class="value">{esc(name)}</text>'
        )
    return parts, y - y0 + 10


def chart(meta: dict[str, str], rows: list[dict[str, str]]) -> str:
    body: list[str] = []
    y = 10.0
    for title, series, unit, digits in (
        (
            "CPU time per request, µs (lower is better)",
            [("ka_cpu_us", KA, "keep-alive"), ("cl_cpu_us", CL, "Connection: close")],
            "",
            1,
        ),
        (
            "Requests per second (higher is better, but see the text)",
            [("ka_rps", KA, "keep-alive"), ("cl_rps", CL, "Connection: close")],
            "",
            0,
        ),
        (
            f"Memory per idle keep-alive connection, KiB ({int(meta.get('idle', '0')):,} open)",
            [("idle_kib_per_conn", MEM, "RSS growth / connections")],
            "",
            2,
        ),
    ):
        parts, height = panel(y, title, rows, series, unit, digits)
        body.extend(parts)
        y += height
    foot = f"{meta.get('date', '')}, {meta.get('machine', '')}; {meta.get('wrk', '')}"
    body.append(f'<text x="10" y="{y + 8}" class="foot">{esc(foot)}</text>')
    height = y + 20
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height:.0f}" '
            f'viewBox="0 0 760 {height:.0f}" font-family="sans-serif">',
            "<style>.title{font-size:14px;font-weight:bold}.label{font-size:12px}"
            ".value{font-size:11px}.foot{font-size:10px;fill:#555}</style>",
            f'<rect width="760" height="{height:.0f}" fill="#fff"/>',
            *body,
            "</svg>",
            "",
        ]
    )


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "book/src/measuring/results.csv")
    meta, rows = read(path)
    (path.parent / "results.md").write_text(table(meta, rows))
    (path.parent / "chart.svg").write_text(chart(meta, rows))


if __name__ == "__main__":
    main()
