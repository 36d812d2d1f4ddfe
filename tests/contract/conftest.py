"""Contract tier: the app against the real ComfyUI 0.8.0 and the real Kohya sd-scripts.

Skipped unless pytest gets ``--run-real-peers`` (``.ci/run`` runs them as their own step).
The peers venv and the models are built once and cached outside the clone (peers_env.py,
peers.py); one real ComfyUI server serves the whole session, each test brings its own
ComfyUI only where it must kill or restart it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import OutputConfig, RequiredModel
from ai4artsed_desktop.paths import AppPaths, resources_dir
from tests.contract import peers

REPO = Path(__file__).resolve().parents[2]
#: The LoRA every generation test uses: the random kohya LoRA built with sd-scripts' code.
LORA_FILE = "contract_style.safetensors"
OUTPUTS = load_content(resources_dir() / "configs").outputs
#: Every shipped output that runs a ComfyUI template.
COMFY_OUTPUTS = sorted(o.id for o in OUTPUTS.values() if o.route.value == "comfyui")


def installed_name(slot: RequiredModel) -> str:
    """The name a slot's file has on the test server: the fp16 download where the slot
    knows one (``v1-5-pruned-emaonly-fp16.safetensors``, as ComfyUI's own templates name
    it), so the app's matching of variants meets the real server."""
    return next((v for v in slot.variants if "fp16" in v), slot.file)


def layouts(output: OutputConfig) -> list[tuple[str, str, tuple[RequiredModel, ...]]]:
    """``(layout id, template, slots)``: the output's own ("") and its alternatives."""
    own = ("", output.workflow, output.required_models)
    return [own, *((lay.id, lay.workflow, lay.required_models) for lay in output.layouts)]


#: Every shipped template: ``(output id, layout id)``.
TEMPLATES = [(o, lay) for o in COMFY_OUTPUTS for lay, _, _ in layouts(OUTPUTS[o])]


def install_models(base: Path, models: peers.PeerModels) -> None:
    """Link the random SD 1.5 checkpoint under every name a shipped template asks for.

    Only SD 1.5 ever runs; the others must pass the real ``/prompt`` validation, which
    checks the names.
    """
    for output_id in COMFY_OUTPUTS:
        for _, _, slots in layouts(OUTPUTS[output_id]):
            for slot in slots:
                target = base / "models" / slot.folder / installed_name(slot)
                if not target.exists():
                    peers.link_or_copy(models.checkpoint, target)
    peers.link_or_copy(models.lora, base / "models" / "loras" / LORA_FILE)
    for folder in ("custom_nodes", "input", "output", "user"):  # ComfyUI lists them at start
        (base / folder).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def peer_models() -> peers.PeerModels:
    return peers.build_models()


@pytest.fixture(scope="session")
def comfy(
    peer_models: peers.PeerModels, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[peers.ComfyServer]:
    """One real ComfyUI 0.8.0 (``--cpu``) for the session, with the test models installed."""
    base = tmp_path_factory.mktemp("comfyui")
    install_models(base, peer_models)
    server = peers.ComfyServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ollama_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Ollama simulator for the LLM stages (this tier is about ComfyUI)."""
    port = peers.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "FAKE_"))}
    env["OLLAMA_HOST"] = f"127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("ollama") / "ollama-sim.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ai4artsed_desktop.simulators.ollama", "serve"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=peers.die_with_parent,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def data_dir_with_tiny_sd15(tmp_path: Path, **defaults: object) -> Path:
    """A data folder whose user content overrides ``sd15``: 64 px, two steps."""
    paths = AppPaths.under(tmp_path)
    paths.ensure()
    shipped = json.loads((resources_dir() / "configs/outputs/sd15.json").read_text("utf-8"))
    shipped["defaults"].update({"width": 64, "height": 64, "steps": 2, **defaults})
    target = paths.user_content_dir / "outputs" / "sd15.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(shipped), encoding="utf-8")
    return tmp_path
