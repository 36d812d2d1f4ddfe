"""The CPU preset's image output runs on the real ComfyUI 0.8.0 (``--cpu``) with a checkpoint
of SD-Turbo's architecture: the app's ``sd_turbo`` template, filled by the app's own code,
makes a picture, and ComfyUI takes the file for the SD 2.x model it is (the validation-only
templates test runs the template against an SD 1.5 file under the same name).

Tiny (64 px, one step, as the preset's one step): the random weights make noise, which is
all a contract test needs; benchmarks/cpu_image.py times the full 512 px picture.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.workflow import apply_inputs, set_filename_prefix
from tests.contract import peers

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(900)]


def test_the_sd_turbo_template_makes_a_picture_with_sd_turbos_architecture(
    tmp_path: Path,
) -> None:
    checkpoint = peers.build_sd_turbo()
    base = tmp_path / "comfyui"
    peers.link_or_copy(checkpoint, base / "models" / "checkpoints" / "sd_turbo.safetensors")
    output = load_content(resources_dir() / "configs").outputs["sd_turbo"]
    graph = load_workflow(output, resources_dir() / "workflows", output.workflow)
    values = {**output.defaults, "prompt": "a lighthouse, gouache", "seed": 3}
    graph = apply_inputs(graph, output, {**values, "width": 64, "height": 64})
    graph = set_filename_prefix(graph, "contract_turbo")
    server = peers.ComfyServer(base)
    server.start()
    try:
        prompt_id = str(uuid.uuid4())
        body = {"prompt": graph, "client_id": "contract", "prompt_id": prompt_id}
        answer = httpx.post(f"{server.url}/prompt", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["node_errors"] == {}
        deadline = time.monotonic() + 600
        entry = None
        while entry is None and time.monotonic() < deadline:
            entry = httpx.get(f"{server.url}/history/{prompt_id}", timeout=30).json().get(prompt_id)
            time.sleep(0.5)
        assert entry is not None, server.log_tail()
        assert entry["status"]["status_str"] == "success", entry["status"]
        (image,) = [i for node in entry["outputs"].values() for i in node.get("images", [])]
        with Image.open(server.output_dir / image["subfolder"] / image["filename"]) as picture:
            assert picture.size == (64, 64)
        log = server.log_text()
        assert "SD2ClipModel" in log  # ComfyUI took the file for SD 2.x (OpenCLIP-H)
        assert "model_type EPS" in log  # SD-Turbo predicts the noise, as SD 2.1 base does
    finally:
        server.stop()
