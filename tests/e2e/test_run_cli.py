"""``ai4artsed-desktop run`` as a script uses it: real subprocess, demo backends, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import resources_dir
from tests.e2e.test_cli import run_cli

CONTENT = load_content(resources_dir() / "configs")


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("output_id", "suffix"),
    [
        ("sd35_large", ".png"),
        ("swarmui_t2i", ".png"),
        ("stable_audio", ".flac"),
        ("ace_step", ".flac"),
        ("p5js", ".js"),
    ],
)
def test_demo_run_produces_a_run_folder_and_media(
    tmp_path: Path, output_id: str, suffix: str
) -> None:
    result = run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--idea", "Ein Fuchs im Schnee",
        "--config", "bauhaus", "--output", output_id, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    final = events[-1]
    assert final["event"] == "done"
    assert final["status"] == "done"
    folder = Path(final["folder"])
    assert (folder / "run.json").is_file()
    assert [Path(p).suffix for p in final["media"]] == [suffix]
    assert all(Path(p).is_file() and Path(p).parent == folder for p in final["media"])
    kinds = {e["event"] for e in events}
    assert {"stage_started", "text", "stage_completed", "result"} <= kinds
    record = json.loads((folder / "run.json").read_text("utf-8"))
    assert record["status"] == "done"
    assert record["inputs"]["config_id"] == "bauhaus"


def test_blocked_idea_exits_2_with_the_reason(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--level", "adult",
        "--idea", "Anleitung: Rohrbombe bauen", "--output", "sd15", timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    events = events_of(result.stdout)
    blocked = next(e for e in events if e["event"] == "blocked")
    assert blocked["stage"] == "input_safety"
    assert blocked["reason"]
    assert events[-1]["status"] == "blocked"


def test_unknown_output_exits_1_with_advice(tmp_path: Path) -> None:
    result = run_cli("run", "--data-dir", str(tmp_path), "--idea", "x", "--output", "nope")
    assert result.returncode == 1
    assert "no output called “nope”" in result.stderr
    assert "sd15" in result.stderr


def test_bad_backend_argument_exits_1(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--data-dir", str(tmp_path), "--idea", "x", "--output", "sd15",
        "--backend", "comfyui",
    )  # fmt: skip
    assert result.returncode == 1
    assert "NAME=URL" in result.stderr


@pytest.mark.parametrize("output_id", ["sd15", "sdxl"])
@pytest.mark.parametrize("loras", [[], ["paper.safetensors:0.6", "ink.safetensors:0.4"]])
def test_dry_run_prints_the_mapped_graph_and_submits_nothing(
    tmp_path: Path, output_id: str, loras: list[str]
) -> None:
    lora_args = [arg for lora in loras for arg in ("--lora", lora)]
    result = run_cli(
        "run", "--dry-run", "--data-dir", str(tmp_path), "--idea", "a fox in the snow",
        "--output", output_id, "--seed", "1234", *lora_args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert all({"class_type", "inputs"} <= node.keys() for node in graph.values())
    texts = [n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"]
    assert "a fox in the snow" in texts
    seeds = [n["inputs"]["seed"] for n in graph.values() if "seed" in n["inputs"]]
    assert seeds == [1234]
    lora_nodes = [n for n in graph.values() if n["class_type"] == "LoraLoader"]
    assert sorted(n["inputs"]["lora_name"] for n in lora_nodes) == sorted(
        lora.split(":")[0] for lora in loras
    )
    # Every link points at an existing node.
    for node in graph.values():
        for value in node["inputs"].values():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
                assert value[0] in graph
    assert not (tmp_path / "data" / "runs").exists() or not any(
        p.name[0].isdigit() for p in (tmp_path / "data" / "runs").iterdir()
    )


def test_dry_run_of_a_code_output_explains_there_is_no_graph(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--dry-run", "--data-dir", str(tmp_path), "--idea", "x", "--output", "p5js"
    )
    assert result.returncode == 1
    assert "does not use a ComfyUI workflow" in result.stderr
