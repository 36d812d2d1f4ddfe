"""A ComfyUI the app starts itself (managed), with launch arguments from the settings.

The ComfyUI folder is laid out as users have it (``ComfyUI/`` with its ``venv`` inside): links
to the unmodified sources and to the peers venv. The launch arguments carry ``--cpu`` and the
base folder; a ``--listen 0.0.0.0`` among them must be dropped (the server stays on loopback).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import ComfySettings, Settings, replace_path, save
from tests.contract import peers, peers_env
from tests.contract.conftest import data_dir_with_tiny_sd15, install_models

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[2]


def comfy_install(folder: Path) -> Path:
    """``folder/ComfyUI`` as a user's install: the sources and ``venv`` (links)."""
    install = folder / "ComfyUI"
    install.mkdir(parents=True)
    for entry in peers.comfy_dir().iterdir():
        (install / entry.name).symlink_to(entry)
    (install / "venv").symlink_to(peers_env.venv_dir())
    return install


def comfy_processes(install: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(part == str(install / "main.py") for part in cmdline):
            found.append(proc)
    return found


def wait_gone(install: Path, within_s: float = 60) -> list[psutil.Process]:
    deadline = time.monotonic() + within_s
    while (left := comfy_processes(install)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_app_started_comfyui_killed_mid_run_is_named_as_died_and_leaves_no_orphan(
    tmp_path: Path, peer_models: peers.PeerModels, ollama_sim: str
) -> None:
    install = comfy_install(tmp_path / "programs")
    base = tmp_path / "comfy-base"
    install_models(base, peer_models)
    data = data_dir_with_tiny_sd15(tmp_path / "app", steps=400)
    args = f"--cpu --base-directory {base} --preview-method latent2rgb --listen 0.0.0.0"
    settings = replace_path(Settings(), "image_engine", "comfyui")
    settings = replace_path(settings, "comfyui", ComfySettings(
        path=str(install), port=peers.free_port(), startup_timeout_s=600, launch_args=args
    ))  # fmt: skip
    save(settings, AppPaths.under(data).settings_file)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.Popen(
        [
            sys.executable, "-m", "ai4artsed_desktop", "run", "--json", "--data-dir", str(data),
            "--backend", f"ollama={ollama_sim}", "--level", "adult", "--idea", "Ein Fuchs",
            "--output", "sd15", "--seed", "3",
        ],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert run.stdout is not None
    try:
        seen = []
        for line in run.stdout:
            seen.append(json.loads(line))
            if seen[-1]["event"] == "progress":
                break
        else:
            raise AssertionError(f"no progress (exit {run.wait()}): {seen[-3:]}")
        (server,) = comfy_processes(install)
        cmdline = server.cmdline()
        assert cmdline[cmdline.index("--listen") + 1] == "127.0.0.1"
        assert cmdline.count("--listen") == 1
        assert "0.0.0.0" not in cmdline
        assert "--cpu" in cmdline
        assert cmdline[cmdline.index("--base-directory") + 1] == str(base)
        server.send_signal(signal.SIGKILL)
        rest = [json.loads(line) for line in run.stdout]
        assert run.wait(120) == 1
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        run.stdout.close()
    (failed,) = [e for e in rest if e["event"] == "failed"]
    assert "stopped during the generation" in failed["message"], failed
    assert "killed by signal 9 (SIGKILL)" in failed["message"], failed
    assert "may still be starting" not in failed["message"]
    assert [e["status"] for e in rest if e["event"] == "done"] == ["failed"]
    assert wait_gone(install) == [], "an app-started ComfyUI outlived the app"
