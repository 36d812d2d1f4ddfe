"""doctor on a ComfyUI whose folders are on this computer: variants used, damaged files."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop import doctor
from ai4artsed_desktop import settings as s
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.models.catalogue import load_catalogue
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline import model_status
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from tests.fakes.safetensors_files import write_model
from tests.integration import comfy_fixtures
from tests.integration.comfy_fixtures import ComfySim, comfy_free_port

comfy_sim_factory = comfy_fixtures.comfy_sim_factory

CONTENT = load_content(resources_dir() / "configs")


def _gpu(tmp_path: Path) -> FakeGpuProvider:
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"driver": "550", "gpus": []}), encoding="utf-8")
    return FakeGpuProvider(path)


def _settings(comfy: ComfySim, *, local: bool) -> s.Settings:
    backend = (
        s.BackendSettings(path=str(comfy.root), port=comfy.port)  # the app starts this one
        if local
        else s.BackendSettings(mode="remote", url=comfy.base_url)
    )
    return dataclasses.replace(
        s.Settings(),
        image_engine="comfyui",
        comfyui=backend,
        ollama=s.BackendSettings(port=comfy_free_port()),
        swarmui=s.BackendSettings(port=comfy_free_port()),
    )


def _models(tmp_path: Path, comfy: ComfySim, local: bool) -> dict[str, doctor.Check]:
    checks = doctor.collect(
        AppPaths.under(tmp_path / "app"), _settings(comfy, local=local), _gpu(tmp_path), CONTENT
    )
    return {c.name: c for c in checks if c.name.startswith("models:")}


def test_variants_layouts_and_damage_on_a_local_comfyui(
    comfy_sim_factory: Callable[..., ComfySim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny files under real names: the catalogue's published sizes are left out here (the
    # next test checks them).
    monkeypatch.setattr(model_status, "published_sizes", dict)
    comfy = comfy_sim_factory(args=["--no-seed-models"])
    models = comfy.models_dir
    write_model(models / "checkpoints" / "SD1.5" / "v1-5-pruned-emaonly-fp16.safetensors")
    write_model(models / "checkpoints" / "sd3.5_large_fp8_scaled.safetensors")
    cut = models / "checkpoints" / "sd_xl_base_1.0.safetensors"
    whole = write_model(cut)
    cut.write_bytes(whole[:-3])
    (models / "checkpoints" / "ace_step_v1_3.5b.safetensors").write_bytes(b"")

    checks = _models(tmp_path, comfy, local=True)
    sd15 = checks["models:sd15"]
    assert sd15.ok
    assert sd15.summary.startswith("the model file found, whole on disk")
    assert "using SD1.5/v1-5-pruned-emaonly-fp16.safetensors" in sd15.summary
    sd35 = checks["models:sd35_large"]
    assert sd35.ok
    assert "layout 'single_file'" in sd35.summary
    assert sd35.details["layout"] == "single_file"
    sdxl = checks["models:sdxl"]
    assert not sdxl.ok
    assert sdxl.summary == "damaged: sd_xl_base_1.0.safetensors (models/checkpoints, truncated)"
    assert "download it again" in sdxl.advice
    assert "ai4artsed-desktop models get sdxl" in sdxl.advice
    damaged: dict[str, Any] = sdxl.details["damaged"][0]
    assert (damaged["health"], damaged["size"], damaged["expected"]) == (
        "truncated",
        len(whole) - 3,
        len(whole),
    )
    assert checks["models:ace_step"].summary.endswith("(models/checkpoints, empty)")
    audio = checks["models:stable_audio"]
    assert audio.summary.startswith("missing: stable-audio-open-1.0.safetensors")

    # The same server seen as remote: names only, so the damaged file counts as found.
    remote = _models(tmp_path, comfy, local=False)
    assert remote["models:sdxl"].ok
    assert "by name only" in remote["models:sdxl"].summary
    assert remote["models:sdxl"].details["files_checked"] is False


def test_a_local_comfyui_that_is_not_running_is_checked_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_status, "published_sizes", dict)  # tiny files, real names
    comfy = tmp_path / "ComfyUI"
    models = comfy / "models"
    write_model(models / "checkpoints" / "Sub" / "V1-5-PRUNED-EMAONLY.safetensors")
    (models / "checkpoints" / "sd_xl_base_1.0.safetensors").parent.mkdir(exist_ok=True)
    (models / "checkpoints" / "sd_xl_base_1.0.safetensors").write_bytes(b"")
    (models / "checkpoints" / "notes.txt").write_text("not a model", encoding="utf-8")
    settings = dataclasses.replace(
        s.Settings(),
        image_engine="comfyui",
        comfyui=s.BackendSettings(path=str(comfy), port=comfy_free_port()),  # nobody answers
        ollama=s.BackendSettings(port=comfy_free_port()),
        swarmui=s.BackendSettings(port=comfy_free_port()),
    )
    checks = doctor.collect(AppPaths.under(tmp_path / "app"), settings, _gpu(tmp_path), CONTENT)
    models_checks = {c.name: c for c in checks if c.name.startswith("models:")}
    sd15 = models_checks["models:sd15"]
    assert sd15.ok
    assert sd15.summary.startswith("ComfyUI is not running; on disk: the model file found")
    assert "using Sub/V1-5-PRUNED-EMAONLY.safetensors" in sd15.summary
    assert sd15.details["on_disk"] is True
    sdxl = models_checks["models:sdxl"]
    assert sdxl.summary == (
        "ComfyUI is not running; on disk: damaged: sd_xl_base_1.0.safetensors "
        "(models/checkpoints, empty)"
    )
    sd35 = models_checks["models:sd35_large"]
    assert not sd35.ok
    assert "missing: sd3.5_large_fp8_scaled.safetensors" in sd35.summary


def test_a_file_of_another_size_than_the_published_one_is_named_damaged(
    comfy_sim_factory: Callable[..., ComfySim], tmp_path: Path
) -> None:
    # A whole-looking safetensors file (its header is consistent) that is not the 14.9 GB
    # the publisher lists: the quick check at start compares sizes from the catalogue.
    comfy = comfy_sim_factory(args=["--no-seed-models"])
    write_model(comfy.models_dir / "checkpoints" / "sd3.5_large_fp8_scaled.safetensors")
    published = load_catalogue().files["sd3.5_large_fp8_scaled.safetensors"].size

    sd35 = _models(tmp_path, comfy, local=True)["models:sd35_large"]

    assert not sd35.ok
    assert sd35.summary == (
        "damaged: sd3.5_large_fp8_scaled.safetensors (models/checkpoints, truncated)"
    )
    damaged: dict[str, Any] = sd35.details["damaged"][0]
    assert (damaged["health"], damaged["expected"]) == ("truncated", published)
