"""doctor reports the version each running server gives (Ollama, ComfyUI, SwarmUI)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ai4artsed_desktop import doctor
from ai4artsed_desktop import settings as s
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from tests.integration.comfy_fixtures import ComfySim, comfy_free_port
from tests.integration.conftest import OllamaSim
from tests.integration.swarm_fixtures import SwarmSim


def _no_gpu(tmp_path: Path) -> FakeGpuProvider:
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"driver": "550", "gpus": []}), encoding="utf-8")
    return FakeGpuProvider(path)


def test_running_servers_report_their_versions(
    tmp_path: Path, ollama_sim: OllamaSim, comfy_sim: ComfySim, swarm_sim: SwarmSim
) -> None:
    settings = dataclasses.replace(
        s.Settings(),
        image_engine="comfyui",
        ollama=s.BackendSettings(mode="remote", url=ollama_sim.base_url),
        comfyui=s.BackendSettings(mode="remote", url=comfy_sim.base_url),
        swarmui=s.BackendSettings(mode="remote", url=swarm_sim.base_url),
    )
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    content = load_content(resources_dir() / "configs")
    checks = {c.name: c for c in doctor.collect(paths, settings, _no_gpu(tmp_path), content)}
    versions = {n: checks[n].details["server_version"] for n in ("ollama", "comfyui", "swarmui")}
    assert versions["ollama"] == "0.12.6"
    assert versions["comfyui"].count(".") == 2
    assert versions["swarmui"].startswith("0.9")
    for name in versions:
        assert f"(version {versions[name]})" in checks[name].summary
        assert checks[name].ok


def test_a_server_that_is_not_running_has_no_version(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        s.Settings(),
        ollama=s.BackendSettings(mode="remote", url=f"http://127.0.0.1:{comfy_free_port()}"),
    )
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    content = load_content(resources_dir() / "configs")
    checks = {c.name: c for c in doctor.collect(paths, settings, _no_gpu(tmp_path), content)}
    assert checks["ollama"].details["server_version"] == ""
    assert "does not answer" in checks["ollama"].summary
    assert not checks["ollama"].ok
