"""doctor: model files per output against the ComfyUI simulator, VRAM preset, free disk."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop import doctor
from ai4artsed_desktop import settings as s
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from tests.integration import comfy_fixtures
from tests.integration.comfy_fixtures import ComfySim, comfy_free_port

comfy_sim_factory = comfy_fixtures.comfy_sim_factory  # the simulator fixtures, reused here
comfy_sim = comfy_fixtures.comfy_sim

GIB = 2**30


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


def _gpu(tmp_path: Path, total_gb: float | None) -> FakeGpuProvider:
    path = tmp_path / "gpu.json"
    gpus: list[dict[str, Any]] = []
    if total_gb is not None:
        total = int(total_gb * GIB)
        gpus.append(
            {"index": 0, "name": "Test GPU", "uuid": "GPU-1", "total_bytes": total,
             "used_bytes": 0, "free_bytes": total}
        )  # fmt: skip
    path.write_text(json.dumps({"driver": "550", "gpus": gpus}), encoding="utf-8")
    return FakeGpuProvider(path)


def _comfy_settings(url: str) -> s.Settings:
    return dataclasses.replace(
        s.Settings(),
        image_engine="comfyui",
        comfyui=s.BackendSettings(mode="remote", url=url),
        # Nothing may answer for Ollama/SwarmUI: a free port that nobody listens on.
        ollama=s.BackendSettings(port=comfy_free_port()),
        swarmui=s.BackendSettings(port=comfy_free_port()),
    )


def _by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def test_missing_model_file_is_named_with_its_folder(
    comfy_sim: ComfySim, tmp_path: Path, content: ContentLibrary
) -> None:
    (comfy_sim.models_dir / "checkpoints" / "sd3.5_large.safetensors").unlink()
    paths = AppPaths.under(tmp_path / "app")
    checks = _by_name(
        doctor.collect(paths, _comfy_settings(comfy_sim.base_url), _gpu(tmp_path, 24), content)
    )
    sd35 = checks["models:sd35_large"]
    assert sd35.ok is False
    assert sd35.required is False
    assert "sd3.5_large.safetensors" in sd35.summary
    assert "ComfyUI/models/checkpoints" in sd35.advice
    assert sd35.details["missing"] == [
        {
            "file": "sd3.5_large.safetensors",
            "folder": "checkpoints",
            "node_class": "CheckpointLoaderSimple",
            "node_missing": False,
            "variants": [],
        }
    ]
    assert checks["models:sdxl"].ok is True
    assert checks["models:sdxl"].details["missing"] == []
    assert checks["comfyui"].ok is True
    # Outputs without model files (code, cloud) are not listed.
    assert "models:p5js" not in checks
    assert "models:cloud_image" not in checks


def test_unreachable_comfyui_is_reported_per_output(
    tmp_path: Path, content: ContentLibrary
) -> None:
    url = f"http://127.0.0.1:{comfy_free_port()}"
    checks = doctor.collect(
        AppPaths.under(tmp_path / "app"), _comfy_settings(url), _gpu(tmp_path, None), content
    )
    models = [c for c in checks if c.name.startswith("models:")]
    assert {c.details["output"] for c in models} == {
        "sd35_large", "flux1_dev", "sdxl", "sd15", "sd_turbo", "stable_audio", "ace_step",
        "wan22_video",
    }  # fmt: skip
    for check in models:
        assert check.ok is False
        assert "does not answer" in check.summary
        assert "run doctor again" in check.advice
        assert check.details["reachable"] is False


def test_demo_mode_needs_no_model_files(tmp_path: Path, content: ContentLibrary) -> None:
    settings = dataclasses.replace(s.Settings(), demo_mode=True)
    checks = doctor.collect(
        AppPaths.under(tmp_path / "app"), settings, _gpu(tmp_path, None), content
    )
    models = [c for c in checks if c.name.startswith("models:")]
    assert models
    assert all(c.ok and "demo" in c.summary for c in models)


@pytest.mark.parametrize(
    ("total_gb", "tier"), [(23.6, 24), (12.0, 8), (8.0, 8), (80.0, 48), (95.5, 96)]
)
def test_vram_tier_implies_a_preset(
    tmp_path: Path, content: ContentLibrary, total_gb: float, tier: int
) -> None:
    check = doctor._check_vram(_gpu(tmp_path, total_gb).snapshot(), content)
    assert check.details["tier_gb"] == tier
    assert check.details["preset"] == content.presets[tier].name.en
    assert check.details["outputs"] == list(content.presets[tier].outputs)
    assert check.ok is True


def test_small_gpu_and_no_gpu_get_advice(tmp_path: Path, content: ContentLibrary) -> None:
    small = doctor._check_vram(_gpu(tmp_path, 4).snapshot(), content)
    assert small.ok is False
    assert "smallest preset" in small.advice
    none = doctor._check_vram(None, content)
    assert none.ok is False
    assert "CPU only" in none.summary
    assert "--cpu" in none.advice
    assert "GPU server" in none.advice
    assert none.details["tier_gb"] == 0
    assert none.details["outputs"] == list(content.presets[0].outputs)
    seconds = content.outputs["sd_turbo"].estimated_seconds
    assert none.details["seconds_per_picture"] == seconds
    assert f"about {seconds:.0f} s per picture" in none.summary


def test_no_gpu_without_a_cpu_preset_gets_the_old_advice(
    tmp_path: Path, content: ContentLibrary
) -> None:
    gpu_only = {tier: p for tier, p in content.presets.items() if tier != 0}
    none = doctor._check_vram(None, dataclasses.replace(content, presets=gpu_only))
    assert none.ok is False
    assert "GPU server" in none.advice
    assert none.details["tier_gb"] is None


@pytest.mark.parametrize(
    ("free", "ok", "words"),
    [(50 * GIB, True, ""), (5 * GIB, False, "Less than 10 GB"), (GIB, False, "Almost full")],
)
def test_free_disk_advice(free: int, ok: bool, words: str) -> None:
    check = doctor._check_disk(free, "/data")
    assert check.ok is ok
    assert check.required is True
    assert (words in check.advice) if words else check.advice == ""
    assert check.details["free_bytes"] == free


def test_nothing_installed_exits_1_with_json_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI4ARTSED_FAKE_GPU", str(_gpu(tmp_path, None).path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    data = tmp_path / "app"
    settings = dataclasses.replace(
        s.Settings(),
        ollama=s.BackendSettings(port=comfy_free_port()),
        swarmui=s.BackendSettings(port=comfy_free_port()),
        comfyui=s.BackendSettings(port=comfy_free_port()),
    )
    s.save(settings, AppPaths.under(data).settings_file)
    code = doctor.run_doctor(argparse.Namespace(data_dir=str(data), demo=False, json=True))
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"ok", "checks"}
    assert report["ok"] is False
    for check in report["checks"]:
        assert set(check) == {"name", "title", "ok", "required", "summary", "advice", "details"}
    names = [c["name"] for c in report["checks"]]
    assert names[:6] == ["python", "qt", "paths", "disk", "gpu", "vram"]
    assert "models:sd35_large" in names
    ollama = next(c for c in report["checks"] if c["name"] == "ollama")
    assert ollama["ok"] is False
    assert ollama["advice"]
