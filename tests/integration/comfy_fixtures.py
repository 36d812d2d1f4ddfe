"""Fixtures running the ComfyUI simulator as a real child process on a free port.

``comfy_sim``: previews on (``--preview-method auto``), FAKE_CONTROL=1, no step delay.
``comfy_sim_factory(env=..., args=..., wait_ready=...)`` for other knobs. Each simulator has
its own folder tree (output, input, temp, models) below the test's tmp_path and is stopped
(SIGTERM, then SIGKILL) at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
READY_DEADLINE_S = 30.0


def comfy_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ComfySim:
    """A running ComfyUI simulator: process, port and folders."""

    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def temp_dir(self) -> Path:
        return self.root / "temp"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, deadline_s: float = READY_DEADLINE_S) -> None:
        """Poll ``/system_stats`` until it answers 200 or the deadline passes."""
        deadline = time.monotonic() + deadline_s
        with httpx.Client(trust_env=False, timeout=0.5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"ComfyUI simulator exited early:\n{self.log_text()}")
                try:
                    if client.get(self.base_url + "/system_stats").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        pytest.fail(f"ComfyUI simulator not ready in {deadline_s}s:\n{self.log_text()}")

    def control(self, path: str, body: Any = None) -> Any:
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            resp = client.post(self.base_url + path, json=body)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def fault(self, mode: str, *, node: str = "", path: str = "", count: int = 1) -> None:
        body = {"mode": mode, "node": node, "path": path, "count": count}
        self.control("/__fake__/fault", body)

    def stop(self, sig: int = signal.SIGTERM, grace_s: float = 5.0) -> int:
        """Signal the process and reap it (SIGKILL after ``grace_s``); its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace_s)
        return int(self.proc.returncode)


@pytest.fixture
def comfy_sim_factory(tmp_path: Path) -> Iterator[Callable[..., ComfySim]]:
    sims: list[ComfySim] = []

    def start(
        *,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        wait_ready: bool = True,
    ) -> ComfySim:
        port = comfy_free_port()
        root = tmp_path / f"comfy-{port}"
        root.mkdir(parents=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
        full_env.update({"FAKE_CONTROL": "1", **(env or {})})
        argv = [
            sys.executable, "-m", "ai4artsed_desktop.simulators.comfyui",
            "--port", str(port), "--output-directory", str(root / "output"),
            "--disable-auto-launch", *(args if args is not None else ["--preview-method", "auto"]),
        ]  # fmt: skip
        log_path = root / "simulator.log"
        with log_path.open("wb") as sink:
            proc = subprocess.Popen(
                argv, cwd=REPO, env=full_env, stdout=sink, stderr=subprocess.STDOUT
            )
        sim = ComfySim(proc, port, root, log_path)
        sims.append(sim)
        if wait_ready:
            sim.wait_ready()
        return sim

    yield start
    for sim in sims:
        sim.stop()


@pytest.fixture
def comfy_sim(comfy_sim_factory: Callable[..., ComfySim]) -> ComfySim:
    return comfy_sim_factory()


# ---------------------------------------------------------------- graphs used by the tests


def sd35_graph(
    text: str = "a lighthouse on a basalt cliff at dusk, gouache",
    *,
    seed: int = 424242,
    steps: int = 6,
    size: int = 256,
    latent: str = "EmptySD3LatentImage",
    prefix: str = "app_sd35",
) -> dict[str, Any]:
    """The SD 3.5 template of protocols.md §2.15 (small size, few steps)."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "sd3.5_large.safetensors"},
        },
        "2": {
            "class_type": "TripleCLIPLoader",
            "inputs": {
                "clip_name1": "clip_l.safetensors",
                "clip_name2": "clip_g.safetensors",
                "clip_name3": "t5xxl_fp16.safetensors",
            },
        },
        "3": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["1", 0], "shift": 3.0}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": text}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": ""}},
        "6": {"class_type": latent, "inputs": {"width": size, "height": size, "batch_size": 1}},
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["3", 0],
                "positive": ["4", 0],
                "negative": ["5", 0],
                "latent_image": ["6", 0],
                "seed": seed,
                "steps": steps,
                "cfg": 4.5,
                "sampler_name": "euler",
                "scheduler": "sgm_uniform",
                "denoise": 1.0,
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": prefix}},
    }


def stable_audio_graph(text: str = "rain on a tin roof", *, seconds: float = 2.0) -> dict[str, Any]:
    """The Stable Audio Open template of protocols.md §2.15."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "stable-audio-open-1.0.safetensors"},
        },
        "2": {
            "class_type": "CLIPLoader",
            "inputs": {"clip_name": "t5-base.safetensors", "type": "stable_audio"},
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 0], "text": text}},
        "4": {
            "class_type": "CLIPTextEncode",
            "inputs": {"clip": ["2", 0], "text": "music, voices"},
        },
        "5": {
            "class_type": "ConditioningStableAudio",
            "inputs": {
                "positive": ["3", 0],
                "negative": ["4", 0],
                "seconds_start": 0.0,
                "seconds_total": seconds,
            },
        },
        "6": {"class_type": "EmptyLatentAudio", "inputs": {"seconds": seconds, "batch_size": 1}},
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "positive": ["5", 0],
                "negative": ["5", 1],
                "latent_image": ["6", 0],
                "seed": 99,
                "steps": 4,
                "cfg": 5.0,
                "sampler_name": "dpmpp_3m_sde_gpu",
                "scheduler": "exponential",
                "denoise": 1.0,
            },
        },
        "8": {"class_type": "VAEDecodeAudio", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {
            "class_type": "SaveAudio",
            "inputs": {"audio": ["8", 0], "filename_prefix": "audio/app_sao"},
        },
    }


def ace_graph(tags: str = "lo-fi, rhodes piano", *, seconds: float = 2.0) -> dict[str, Any]:
    """The ACE-Step template of protocols.md §2.15 (with the tonemap CFG variant)."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "ace_step_v1_3.5b.safetensors"},
        },
        "2": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["1", 0], "shift": 5.0}},
        "3": {
            "class_type": "TextEncodeAceStepAudio",
            "inputs": {
                "clip": ["1", 1],
                "tags": tags,
                "lyrics": "[instrumental]",
                "lyrics_strength": 0.99,
            },
        },
        "4": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["3", 0]}},
        "5": {
            "class_type": "EmptyAceStepLatentAudio",
            "inputs": {"seconds": seconds, "batch_size": 1},
        },
        "6": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["11", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["5", 0],
                "seed": 5150,
                "steps": 4,
                "cfg": 5.0,
                "sampler_name": "dpmpp_2m_sde_gpu",
                "scheduler": "simple",
                "denoise": 0.9,
            },
        },
        "7": {"class_type": "VAEDecodeAudio", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {
            "class_type": "SaveAudioMP3",
            "inputs": {"audio": ["7", 0], "filename_prefix": "audio/app_ace", "quality": "V0"},
        },
        "10": {"class_type": "LatentOperationTonemapReinhard", "inputs": {"multiplier": 1.0}},
        "11": {
            "class_type": "LatentApplyOperationCFG",
            "inputs": {"model": ["2", 0], "operation": ["10", 0]},
        },
    }
