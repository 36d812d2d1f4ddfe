"""The benchmark runner: every listed benchmark exists, and its table parser reads their lines."""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks.run_all import BENCHMARKS, main, parse, table


def test_every_listed_benchmark_is_a_module() -> None:
    for name in BENCHMARKS:
        assert importlib.util.find_spec(f"benchmarks.{name}") is not None, name


def test_list_prints_the_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["run_all", "--list"])
    assert main() == 0
    assert capsys.readouterr().out.split() == list(BENCHMARKS)


def test_parse_reads_medians_single_values_and_skips_the_rest() -> None:
    output = "\n".join(
        [
            "# startup (Linux, 2 cores)",
            "process start -> window shown: median 553.0 ms (p10 542.7, p90 556.8, max 556.8)"
            " over 4 runs",
            "5 ms timer lateness, idle: median 0.11 ms (p99 0.34, max 0.42) over 196 ticks"
            " in 1 round(s)",
            "idle RSS, main window: median 120.2 MiB (min 120.2, max 120.6) over 3 runs",
            "1000 runs: first open (index built from the folders): 343 ms",
            "ratio polling / websocket (medians): 316x",
        ]
    )
    rows = parse("demo", output)
    assert [(r.name, r.median, r.unit) for r in rows] == [
        ("process start -> window shown", "553.0", "ms"),
        ("5 ms timer lateness, idle", "0.11", "ms"),
        ("idle RSS, main window", "120.2", "MiB"),
        ("1000 runs: first open (index built from the folders)", "343", "ms"),
    ]
    assert rows[0].spread == "p10 542.7, p90 556.8, max 556.8, n=4"
    assert rows[1].spread == "p99 0.34, max 0.42, n=196"
    assert rows[3].spread == ""
    rendered = table(rows).splitlines()
    assert len(rendered) == 2 + len(rows)
    assert "| demo " in rendered[2]
