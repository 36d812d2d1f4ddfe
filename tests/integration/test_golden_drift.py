"""The simulators against the golden transcripts of the real programs (tests/data/golden/).

The ComfyUI simulator is recorded with the same recorder as the real ComfyUI 0.8.0
(tests/contract/transcript.py) on the same kind of job; the message types, their order and
their fields must match, and so must the shapes of ``/history``, ``/object_info`` and the
400 answer. The kohya simulator's output must give the parser the same kinds of events in
the same order as the real sd-scripts did. A simulator that drifts from reality fails here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ai4artsed_desktop.backends.process_output import split_lines
from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import LoraSpec, inject_loras
from ai4artsed_desktop.pipeline.workflow import apply_inputs, set_filename_prefix
from ai4artsed_desktop.simulators.kohya_install import install_fake_kohya
from ai4artsed_desktop.training import config
from ai4artsed_desktop.training.dataset import prepare, scan
from ai4artsed_desktop.training.events import TrainingLog
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.progress import ProgressParser
from ai4artsed_desktop.training.project import new_project
from tests.contract.test_training import cpu_preset
from tests.contract.transcript import Transcript, key_tree, record_job, shape, shape_sequence
from tests.integration.comfy_fixtures import ComfySim
from tests.unit.training.helpers import make_image

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
OUTPUTS = load_content(resources_dir() / "configs").outputs
LORA = "contract_style.safetensors"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text("utf-8"))


def sd15_graph(lora: str = LORA, **values: object) -> dict[str, Any]:
    output = OUTPUTS["sd15"]
    graph = load_workflow(output, resources_dir() / "workflows")
    tiny = {"prompt": "a lighthouse", "negative": "blurry", "steps": 2, "width": 64, "height": 64}
    graph = apply_inputs(graph, output, {**tiny, "seed": 42, **values})
    graph = inject_loras(graph, [LoraSpec(lora, 1.0, 1.0)]).graph
    return set_filename_prefix(graph, "contract_sd15")


def record(sim: ComfySim, **kwargs: Any) -> Transcript:
    (sim.models_dir / "loras" / LORA).write_bytes(b"placeholder LoRA\n")
    graph = sd15_graph(steps=kwargs.pop("steps", 2))
    return asyncio.run(record_job(sim.base_url, graph, timeout_s=60, **kwargs))


def ours(messages: list[dict[str, Any]], prompt_id: str) -> list[dict[str, Any]]:
    """The job's own frames (the greeting and queue ``status`` frames are the server's)."""
    keep = []
    for message in messages:
        data = message.get("data")
        if "binary" in message or (isinstance(data, dict) and data.get("prompt_id") == prompt_id):
            keep.append(message)
    return keep


def milestones(messages: list[dict[str, Any]]) -> list[str]:
    """The message types a client follows, in order, repeats folded (no progress_state)."""
    out: list[str] = []
    for kind, _ in shape_sequence(messages):
        if kind == "progress_state" or kind.startswith("binary:"):
            continue
        if not out or out[-1] != kind:
            out.append(kind)
    return out


def fields_by_type(messages: list[dict[str, Any]]) -> dict[str, set[tuple[str, ...]]]:
    found: dict[str, set[tuple[str, ...]]] = {}
    for message in messages:
        kind, fields = shape(message)
        found.setdefault(kind, set()).add(fields)
    return found


def test_comfyui_simulator_run_matches_the_real_transcript(comfy_sim: ComfySim) -> None:
    real = golden("comfyui_run.json")
    sim = record(comfy_sim)
    real_ours = ours(real["messages"], real["prompt_id"])
    sim_ours = ours(sim.messages, sim.prompt_id)
    assert milestones(sim_ours) == milestones(real_ours)
    assert fields_by_type(sim_ours) == fields_by_type(real_ours)
    assert sum("binary" in m for m in sim_ours) == sum("binary" in m for m in real_ours)
    assert shape(sim.messages[0]) == shape(real["messages"][0])  # the greeting
    assert key_tree(sim.history) == key_tree(real["history"])


def test_comfyui_simulator_interrupt_matches_the_real_transcript(
    comfy_sim_factory: Callable[..., ComfySim],
) -> None:
    real = golden("comfyui_interrupted.json")
    slow = comfy_sim_factory(env={"FAKE_COMFY_STEP_MS": "300"})
    sim = record(slow, steps=50, interrupt_after_progress=True)
    real_ours = ours(real["messages"], real["prompt_id"])
    sim_ours = ours(sim.messages, sim.prompt_id)
    assert milestones(sim_ours) == milestones(real_ours)
    assert fields_by_type(sim_ours) == fields_by_type(real_ours)
    assert key_tree(sim.history["status"]) == key_tree(real["history"]["status"])
    assert [m[0] for m in sim.history["status"]["messages"]] == [
        m[0] for m in real["history"]["status"]["messages"]
    ]


def test_comfyui_simulator_object_info_and_rejection_have_the_real_shape(
    comfy_sim: ComfySim,
) -> None:
    real_infos = golden("comfyui_object_info.json")
    with httpx.Client(base_url=comfy_sim.base_url, timeout=10) as http:
        for name, real_info in real_infos.items():
            sim_info = http.get(f"/object_info/{name}").json()[name]
            assert set(sim_info) == set(real_info), name
            for section in ("required", "optional"):
                real_inputs = real_info["input"].get(section, {})
                sim_inputs = sim_info["input"].get(section, {})
                assert set(sim_inputs) == set(real_inputs), (name, section)
            assert sim_info["output"] == real_info["output"], name
        graph = sd15_graph("not_installed.safetensors")
        body = {"prompt": graph, "client_id": "drift", "prompt_id": str(uuid.uuid4())}
        answer = http.post("/prompt", json=body)
    real = golden("comfyui_prompt_rejected.json")
    assert answer.status_code == real["status"]
    # input_config repeats the node's input definition (compared above through /object_info).
    assert without_input_config(key_tree(answer.json())) == without_input_config(
        key_tree(real["body"])
    )


def without_input_config(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: without_input_config(v) for k, v in tree.items() if k != "input_config"}
    if isinstance(tree, list):
        return [without_input_config(v) for v in tree]
    return tree


def parsed_kinds(data: bytes) -> list[str]:
    """The parser's event kinds in order, repeats folded, plain log lines left out."""
    parser = ProgressParser()
    lines, rest = split_lines(b"", data)
    kinds: list[str] = []
    for line in [*lines, rest]:
        for event in parser.feed_line(line.decode("utf-8")):
            kind = type(event).__name__
            if not isinstance(event, TrainingLog) and (not kinds or kinds[-1] != kind):
                kinds.append(kind)
    return kinds


def test_kohya_simulator_output_parses_like_the_real_training(tmp_path: Path) -> None:
    kohya = install_fake_kohya(tmp_path / "sd-scripts")
    base = tmp_path / "models" / "v1-5-pruned.safetensors"
    base.parent.mkdir()
    base.write_bytes(b"fake checkpoint")
    project = new_project(
        tmp_path / "training", "golden", "zinestyle", base,
        family=ModelFamily.sd15, epochs=2, resolution=64,
    )  # fmt: skip
    sources = [make_image(tmp_path / "drop" / f"{i}.png", size=(96, 96), seed=i) for i in (1, 2)]
    prepare(scan(sources), project.root, trigger="zinestyle", repeats=1)
    config.write_config(project, cpu_preset())  # the knobs of the real recording
    settings = config.TrainingSettings(kohya_dir=str(kohya))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
    env["FAKE_KOHYA_STEP_MS"] = "1"
    result = subprocess.run(
        config.command(settings, project), cwd=kohya, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    real = parsed_kinds((GOLDEN / "kohya_sd15_train.bin").read_bytes())
    assert parsed_kinds(result.stdout) == real


def test_golden_files_hold_no_machine_paths() -> None:
    for path in GOLDEN.iterdir():
        text = path.read_bytes().decode("utf-8", errors="replace")
        for marker in ("/work/", "/root/", "/tmp/", "/home/"):
            assert marker not in text, (path.name, marker)


if sys.platform == "win32":  # the fake kohya venv scripts are POSIX
    pytestmark = pytest.mark.skip(reason="POSIX only")
