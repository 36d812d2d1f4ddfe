from __future__ import annotations

import json
from pathlib import Path

import pynvml
import pytest

from ai4artsed_desktop.system import gpu
from ai4artsed_desktop.system.resources import system_snapshot


def test_missing_nvml_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library() -> None:
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", no_library)
    provider = gpu.NvmlProvider()
    assert provider.snapshot() is None
    assert provider.unavailable_reason
    assert gpu.describe(provider.snapshot()) == "no NVIDIA GPU"


def test_fake_provider_reads_json(tmp_path: Path) -> None:
    path = tmp_path / "gpu.json"
    path.write_text(
        json.dumps(
            {
                "driver": "570.1",
                "gpus": [
                    {
                        "index": 0,
                        "name": "Fake RTX",
                        "uuid": "GPU-1",
                        "total_bytes": 24 * 2**30,
                        "used_bytes": 2 * 2**30,
                        "free_bytes": 22 * 2**30,
                        "processes": [{"pid": 42, "name": "ollama", "used_bytes": 2**30}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    snap = gpu.FakeGpuProvider(path).snapshot()
    assert snap is not None
    assert snap.total_vram_gb == pytest.approx(24)
    assert snap.gpus[0].processes[0].name == "ollama"
    assert "Fake RTX (24 GB)" in gpu.describe(snap)


@pytest.mark.parametrize("content", [None, "{", '{"gpus": []}', '{"gpus": [{"x": 1}]}'])
def test_fake_provider_without_usable_file_means_no_gpu(
    tmp_path: Path, content: str | None
) -> None:
    path = tmp_path / "gpu.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert gpu.FakeGpuProvider(path).snapshot() is None


def test_default_provider_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(gpu.FAKE_GPU_ENV, str(tmp_path / "g.json"))
    assert isinstance(gpu.default_provider(), gpu.FakeGpuProvider)
    monkeypatch.delenv(gpu.FAKE_GPU_ENV)
    assert isinstance(gpu.default_provider(), gpu.NvmlProvider)


def test_system_snapshot_is_plausible() -> None:
    snap = system_snapshot()
    assert snap.ram_total_bytes > 0
    assert 0 <= snap.ram_percent <= 100


@pytest.mark.gpu
def test_real_nvml_reports_memory() -> None:
    snap = gpu.NvmlProvider().snapshot()
    assert snap is not None
    assert snap.gpus
    first = snap.gpus[0]
    assert first.total_bytes > 0
    assert 0 <= first.used_bytes <= first.total_bytes
