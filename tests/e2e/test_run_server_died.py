"""The image server dies mid-run: the run says so, with the supervisor's cause.

Before, a run whose ComfyUI was killed said "The live connection to ComfyUI could not be
opened. It may still be starting." The real ComfyUI case is in
tests/contract/test_managed_comfyui.py; here the demo ComfyUI (a managed child) is killed.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psutil

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings, replace_path, save

from .headless_run import read_until_progress, start_demo_run


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
    proc = start_demo_run(tmp_path, step_ms=300)
    assert proc.stdout is not None
    try:
        read_until_progress(proc)
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
