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
        ("wan22_video", ".mp4"),
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


def _stopped_run(tmp_path: Path, *extra: str) -> dict[str, Any]:
    """A demo run stopped after the interception; returns its final ``done`` line."""
    result = run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--idea", "Ein Fuchs im Schnee",
        "--config", "bauhaus", "--output", "sd15", "--stop-after", "interception", *extra,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    final = events_of(result.stdout)[-1]
    assert final["status"] == "stopped after interception"
    return final


def _resume(tmp_path: Path, run_id: str, *extra: str) -> Any:
    return run_cli(
        "run", "--demo", "--json", "--data-dir", str(tmp_path), "--resume", run_id, *extra,
        timeout=120,
    )  # fmt: skip


def test_resume_continues_a_stopped_run_with_its_edit_and_seed(tmp_path: Path) -> None:
    stopped = _stopped_run(tmp_path, "--seed", "4242")
    path = Path(stopped["folder"]) / "run.json"
    record = json.loads(path.read_text("utf-8"))
    assert record["status"] == "stopped"
    edit = "Ein roter Fuchs aus Kreisen und Quadraten, im Schnee"
    for stage in record["stages"]:
        if stage["stage"] == "interception":
            stage["edited_text"] = edit
    path.write_text(json.dumps(record), "utf-8")

    result = _resume(tmp_path, stopped["run_id"])

    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    assert [e["event"] for e in events].count("done") == 1
    final = events[-1]
    assert final == {**final, "event": "done", "status": "done", "run_id": stopped["run_id"]}
    assert final["folder"] == stopped["folder"]
    assert [Path(p).suffix for p in final["media"]] == [".png"]
    started = [e["stage"] for e in events if e["event"] == "stage_started"]
    assert "interception" not in started  # the saved (edited) text is used, not re-made
    assert "generation" in started
    done = json.loads(path.read_text("utf-8"))
    assert done["status"] == "done"
    assert done["seed"] == 4242
    interception = next(s for s in done["stages"] if s["stage"] == "interception")
    assert interception["edited_text"] == edit


def test_resume_can_stop_again_after_the_adaptation(tmp_path: Path) -> None:
    stopped = _stopped_run(tmp_path)

    result = _resume(tmp_path, stopped["run_id"], "--stop-after", "adaptation")

    assert result.returncode == 0, result.stdout + result.stderr
    events = events_of(result.stdout)
    assert events[-1]["status"] == "stopped after adaptation"
    assert [e["event"] for e in events].count("done") == 1
    assert not any(e["event"] == "result" for e in events)
    record = json.loads((Path(stopped["folder"]) / "run.json").read_text("utf-8"))
    assert record["status"] == "stopped"
    assert {s["stage"] for s in record["stages"]} >= {"interception", "adaptation"}


def test_resume_refuses_an_unknown_run(tmp_path: Path) -> None:
    result = _resume(tmp_path, "20990101-000000-abcdef")
    assert result.returncode == 1
    events = events_of(result.stdout)
    assert events[-1]["event"] == "error"
    assert "no longer exists" in events[-1]["message"]
    malformed = _resume(tmp_path, "../runs")
    assert malformed.returncode == 1
    assert "no run with this id" in events_of(malformed.stdout)[-1]["message"]


def test_resume_refuses_a_finished_run_and_a_vanished_output(tmp_path: Path) -> None:
    stopped = _stopped_run(tmp_path)
    path = Path(stopped["folder"]) / "run.json"
    record = json.loads(path.read_text("utf-8"))

    record["status"] = "done"
    path.write_text(json.dumps(record), "utf-8")
    done = _resume(tmp_path, stopped["run_id"])
    assert done.returncode == 1
    assert "already done" in events_of(done.stdout)[-1]["message"]

    record["status"], record["inputs"]["output_id"] = "stopped", "gone_output"
    path.write_text(json.dumps(record), "utf-8")
    gone = _resume(tmp_path, stopped["run_id"])
    assert gone.returncode == 1
    assert "no output called “gone_output”" in events_of(gone.stdout)[-1]["message"]
    assert json.loads(path.read_text("utf-8"))["inputs"]["output_id"] == "gone_output"


def test_resume_refuses_the_inputs_it_takes_from_the_run(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--data-dir", str(tmp_path), "--resume", "x", "--idea", "y", "--output", "sd15"
    )  # fmt: skip
    assert result.returncode == 1
    assert "leave out --idea, --output" in result.stderr
    missing = run_cli("run", "--data-dir", str(tmp_path), "--idea", "y")
    assert missing.returncode == 1
    assert "--output" in missing.stderr
