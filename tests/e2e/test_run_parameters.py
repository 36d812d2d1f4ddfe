"""``run --steps --width --height --cfg --seconds`` and the parameters recorded in run.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cli import run_cli


def _final(stdout: str) -> dict[str, Any]:
    events = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    final: dict[str, Any] = events[-1]
    return final


def _record(final: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((Path(final["folder"]) / "run.json").read_text("utf-8"))
    return record


def test_dry_run_takes_steps_size_and_cfg(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--dry-run", "--data-dir", str(tmp_path), "--idea", "a fox", "--output", "sd15",
        "--steps", "3", "--width", "320", "--height", "256", "--cfg", "2.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    sampler = next(n["inputs"] for n in graph.values() if n["class_type"] == "KSampler")
    latent = next(n["inputs"] for n in graph.values() if n["class_type"] == "EmptyLatentImage")
    assert (sampler["steps"], sampler["cfg"]) == (3, 2.5)
    assert (latent["width"], latent["height"]) == (320, 256)


def test_run_json_records_the_parameters_really_used(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--idea", "Ein Fuchs im Schnee",
        "--output", "sd15", "--steps", "2", "--width", "64", "--height", "96", timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(_final(result.stdout))
    # Given on the command line, and the output's default for what was not (cfg 7.0).
    assert record["parameters"] == {"steps": 2, "cfg": 7.0, "width": 64, "height": 96}
    generation = next(s for s in record["stages"] if s["stage"] == "generation")
    assert generation["params"] == record["parameters"]


def test_sound_run_records_its_defaults(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--idea", "Regen auf Blech",
        "--output", "stable_audio", "--steps", "2", "--seconds", "3", timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(_final(result.stdout))
    assert record["parameters"] == {"seconds": 3.0, "steps": 2, "cfg": 5.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "stable_audio", "--width", "512"], "has no setting --width"),
        (["--output", "sd15", "--steps", "0"], "must be at least 1"),
        (["--output", "p5js", "--cfg", "3"], "has no setting --cfg"),
    ],
)
def test_a_parameter_the_output_cannot_take_exits_1_before_any_stage(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("run", "--demo", "--data-dir", str(tmp_path), "--idea", "x", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert "== " not in result.stdout  # no stage started
