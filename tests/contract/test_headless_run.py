"""``ai4artsed-desktop run`` against the real ComfyUI 0.8.0 (the LLM stages answer from the
Ollama simulator): a tiny generation with and without a LoRA, and SIGTERM mid-job.

The output is the shipped ``sd15`` with a teacher's override in the user content folder
(the app's own mechanism) that makes it 64 x 64 pixels and two steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.contract.conftest import LORA_FILE, data_dir_with_tiny_sd15
from tests.contract.peers import ComfyServer

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[2]
SEED = 777


def run_args(data: Path, ollama: str, comfy: ComfyServer, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "ai4artsed_desktop", "run", "--json", "--data-dir", str(data),
        "--backend", f"ollama={ollama}", "--backend", f"comfyui={comfy.url}",
        "--level", "adult", "--idea", "Ein Leuchtturm im Sturm", "--output", "sd15",
        "--seed", str(SEED), *extra,
    ]  # fmt: skip


def run_to_end(args: list[str]) -> list[dict[str, Any]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def image_of(events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """The picture's pixels and the PNG text the app wrote (the run's metadata)."""
    final = events[-1]
    assert final["event"] == "done"
    assert final["status"] == "done"
    (media,) = final["media"]
    with Image.open(media) as image:
        assert image.size == (64, 64)
        text = dict(image.text)  # type: ignore[attr-defined]
        return image.convert("RGB").tobytes(), text


def test_run_makes_a_picture_and_the_lora_changes_it(
    tmp_path: Path, ollama_sim: str, comfy: ComfyServer
) -> None:
    data = data_dir_with_tiny_sd15(tmp_path)
    plain = run_to_end(run_args(data, ollama_sim, comfy))
    styled = run_to_end(run_args(data, ollama_sim, comfy, "--lora", f"{LORA_FILE}:1.0"))

    for events in (plain, styled):
        progress = [(e["step"], e["total"]) for e in events if e["event"] == "progress"]
        assert progress[-1] == (2, 2)
        assert any(e["event"] == "preview" and e["image_bytes"] > 0 for e in events)
        assert sum(e["event"] == "done" for e in events) == 1
        folder = Path(events[-1]["folder"])
        record = json.loads((folder / "run.json").read_text("utf-8"))
        assert record["status"] == "done"

    plain_pixels, plain_text = image_of(plain)
    styled_pixels, styled_text = image_of(styled)
    assert plain_text["seed"] == styled_text["seed"] == str(SEED)
    assert "loras" not in plain_text
    assert LORA_FILE in styled_text["loras"]
    assert plain_text["idea"] == "Ein Leuchtturm im Sturm"
    assert plain_pixels != styled_pixels, "the LoRA must change the picture at a fixed seed"
    record = json.loads((Path(styled[-1]["folder"]) / "run.json").read_text("utf-8"))
    assert record["seed"] == SEED
    assert [lora["file"] for lora in record["loras_applied"]] == [LORA_FILE]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_interrupts_the_job_on_the_server(
    tmp_path: Path, ollama_sim: str, comfy: ComfyServer, signum: int
) -> None:
    data = data_dir_with_tiny_sd15(tmp_path, steps=400)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        run_args(data, ollama_sim, comfy), cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["event"] == "progress":
            break
    else:
        raise AssertionError(f"no progress (exit {proc.wait()})")
    stopped_at = time.monotonic()
    proc.send_signal(signum)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(60) == 128 + signum
    proc.stdout.close()
    assert [e["status"] for e in rest if e["event"] == "done"] == ["cancelled"]

    # 400 steps take many minutes here; an interrupted job leaves the queue at once.
    while time.monotonic() - stopped_at < 60:
        queue = httpx.get(f"{comfy.url}/queue", timeout=10).json()
        if not queue["queue_running"] and not queue["queue_pending"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the abandoned job still runs on ComfyUI")
    history = httpx.get(f"{comfy.url}/history", params={"max_items": 1}, timeout=10).json()
    (entry,) = history.values()
    kinds = [message[0] for message in entry["status"]["messages"]]
    assert "execution_interrupted" in kinds
