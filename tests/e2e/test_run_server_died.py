"""The image server dies mid-run: the run says so, with the supervisor's cause.

Before, a run whose ComfyUI was killed said "The live connection to ComfyUI could not be
opened. It may still be starting." The real ComfyUI case is in
tests/contract/test_managed_comfyui.py; here the demo ComfyUI (a managed child) is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, replace_path, save

REPO = Path(__file__).resolve().parents[2]


def comfy_simulators(parent: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(parent).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c for c in children if "ai4artsed_desktop.simulators.comfyui" in " ".join(c.cmdline())]


def test_killed_comfyui_is_named_as_died_with_its_cause(tmp_path: Path) -> None:
    # ComfyUI itself is the image engine (with SwarmUI, ComfyUI is SwarmUI's child).
    save(
        replace_path(Settings(), "image_engine", "comfyui"), AppPaths.under(tmp_path).settings_file
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FAKE_COMFY_STEP_MS": "300"}
    args = [
        sys.executable, "-m", "ai4artsed_desktop", "run", "--demo", "--json",
        "--data-dir", str(tmp_path), "--level", "adult", "--idea", "Ein Fuchs im Schnee",
        "--output", "sd15",
    ]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if json.loads(line)["event"] == "progress":
                break
        else:
            raise AssertionError(f"no progress (exit {proc.wait()})")
        (server,) = comfy_simulators(proc.pid)
        server.send_signal(signal.SIGKILL)
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    (failed,) = [e for e in rest if e["event"] == "failed"]
    assert failed["message"].startswith("The image server stopped during the generation:")
    assert "killed by signal 9 (SIGKILL)" in failed["message"]
    assert "may still be starting" not in failed["message"]
    assert rest[-1]["event"] == "done"
    assert rest[-1]["status"] == "failed"
