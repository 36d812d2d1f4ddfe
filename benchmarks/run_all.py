"""Run every benchmark, one child process each, one after the other; print one table.

Each benchmark's own output is echoed as it finishes (``--quiet`` leaves it out); then the
lines that carry a number are gathered into one table: benchmark, measurement, median,
spread (what the script printed in brackets: p10/p90/max, p99/max or min/max) and unit.
Lines with a single value (e.g. "first open: 343 ms") appear with an empty spread.
Benchmarks run one at a time, so they do not disturb each other's timings.

Run: ``python -m benchmarks.run_all [--only startup,rss] [--list] [--quiet]``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ._stats import machine

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = (
    "startup",
    "rss",
    "orchestration",
    "first_preview",
    "loop_stall",
    "readiness",
    "completion",
    "history_index",
    "warmup_first_click",
    "model_check",
    "model_download",
    "lab_console",
    "lab_console_page",
    "video_demo",
)
_MEDIAN = re.compile(
    r"^(?P<name>.+?): median (?P<value>[\d.]+) (?P<unit>ms|MiB|s)"
    r" \((?P<spread>[^)]*)\)(?P<rest>.*)$"
)
_SINGLE = re.compile(r"^(?P<name>.+?): (?P<value>[\d.]+) (?P<unit>ms|MiB|s)$")


@dataclass(frozen=True)
class Row:
    """One measurement of the combined table."""

    benchmark: str
    name: str
    median: str
    spread: str
    unit: str


def parse(benchmark: str, output: str) -> list[Row]:
    """The rows in a benchmark's output (lines with a median, or a single value)."""
    rows = []
    for line in output.splitlines():
        if match := _MEDIAN.match(line):
            spread = match["spread"] + match["rest"].replace(" over ", ", n=", 1)
            spread = re.sub(r" (runs|ticks.*)$", "", spread)
            rows.append(Row(benchmark, match["name"], match["value"], spread, match["unit"]))
        elif match := _SINGLE.match(line):
            rows.append(Row(benchmark, match["name"], match["value"], "", match["unit"]))
    return rows


def table(rows: list[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    head = ("benchmark", "measurement", "median", "spread", "unit")
    cells = [head] + [(r.benchmark, r.name, r.median, r.spread, r.unit) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " |"
             for cell in cells]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def run_one(name: str, quiet: bool) -> tuple[list[Row], float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"## {name} FAILED ({proc.returncode})\n{proc.stderr[-3000:]}", file=sys.stderr)
        return [], took
    if not quiet:
        print(f"## {name} ({took:.0f} s)\n{proc.stdout}", flush=True)
    return parse(name, proc.stdout), took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--list", action="store_true", help="print the names and stop")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    args = parser.parse_args()
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    rows: list[Row] = []
    failed = []
    for name in names:
        found, _took = run_one(name, args.quiet)
        rows += found
        if not found:
            failed.append(name)
    print(f"# all benchmarks ({machine()})")
    print(table(rows))
    if failed:
        print(f"failed or printed no numbers: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
