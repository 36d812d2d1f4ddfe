"""Per-file states of catalogue files on disk: quick check, full hash, where files are found."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from pathlib import Path

import pytest

from ai4artsed_desktop.errors import UserCancelled
from ai4artsed_desktop.models.catalogue import ModelFile, load_catalogue, planned_files
from ai4artsed_desktop.models.verify import (
    FileState,
    sha256_file,
    verify_files,
    verify_path,
    verify_planned,
)
from ai4artsed_desktop.pipeline.model_files import FileHealth, LocalModels
from tests.fakes.safetensors_files import write_model


def _entry(data: bytes, *, sha: bool = True, size: bool = True) -> ModelFile:
    base = load_catalogue().files["v1-5-pruned-emaonly.safetensors"]
    return dataclasses.replace(
        base,
        size=len(data) if size else None,
        sha256=hashlib.sha256(data).hexdigest() if sha else None,
        verified=sha and size,
    )


def test_a_whole_file_is_ok_quick_and_full(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    data = write_model(path)
    entry = _entry(data)
    assert verify_path(entry, path).state is FileState.ok
    full = verify_path(entry, path, full=True)
    assert (full.state, full.sha256, full.full) == (FileState.ok, entry.sha256, True)


def test_an_empty_file_is_damaged_not_present(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"")
    report = verify_path(_entry(b"x" * 10), path)
    assert report.state is FileState.damaged
    assert report.check is not None
    assert report.check.health is FileHealth.empty


def test_a_cut_off_file_is_damaged_by_the_published_size_even_without_a_header(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.ckpt"  # not safetensors: only the catalogue's size can tell
    data = bytes(range(256)) * 4
    path.write_bytes(data[:700])
    report = verify_path(_entry(data), path)
    assert report.state is FileState.damaged
    assert report.check is not None
    assert report.check.health is FileHealth.truncated
    assert "324 bytes missing" in report.detail


def test_a_longer_file_than_published_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    data = write_model(path)
    path.write_bytes(data + b"extra")
    report = verify_path(_entry(data), path)
    assert report.check is not None
    assert report.check.health is FileHealth.wrong_size


def test_same_size_other_bytes_is_a_hash_mismatch_only_in_the_full_check(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    data = write_model(path)
    spoiled = bytearray(data)
    spoiled[-1] ^= 0xFF
    path.write_bytes(bytes(spoiled))
    entry = _entry(data)
    assert verify_path(entry, path).state is FileState.ok
    full = verify_path(entry, path, full=True)
    assert full.state is FileState.hash_mismatch
    assert full.sha256 == hashlib.sha256(spoiled).hexdigest()


def test_without_a_confirmed_hash_the_full_check_says_unverified(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    data = write_model(path)
    report = verify_path(_entry(data, sha=False, size=False), path, full=True)
    assert report.state is FileState.unverified
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_hashing_reports_progress_and_stops_on_cancel(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"a" * (9 * 1024 * 1024))
    seen: list[int] = []
    assert sha256_file(path, progress=seen.append) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert seen[-1] == 9 * 1024 * 1024
    assert len(seen) == 3
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(UserCancelled):
        sha256_file(path, cancel=cancel)


def test_files_are_found_in_subfolders_and_other_case_like_comfyui_finds_them(
    tmp_path: Path,
) -> None:
    catalogue = load_catalogue()
    comfy = tmp_path / "ComfyUI"
    write_model(comfy / "models" / "checkpoints" / "SD1.5" / "V1-5-Pruned-EMAonly.safetensors")
    write_model(comfy / "models" / "clip" / "t5-base.safetensors")  # the older folder name
    local = catalogue.local_models("comfyui", comfy)
    files = [
        catalogue.files[n]
        for n in (
            "v1-5-pruned-emaonly.safetensors",
            "t5-base.safetensors",
            "sd_xl_base_1.0.safetensors",
        )
    ]
    planned = {p.file.name: p.path for p in planned_files(catalogue, {"comfyui": comfy})}
    reports = verify_files(files, local, expected=lambda f: planned.get(f.name))
    states = {r.file.name: r.state for r in reports}
    # The SD 1.5 copy is a tiny test file: far shorter than the published 4.27 GB.
    assert states == {
        "v1-5-pruned-emaonly.safetensors": FileState.damaged,
        "t5-base.safetensors": FileState.ok,
        "sd_xl_base_1.0.safetensors": FileState.missing,
    }
    missing = reports[2]
    assert missing.path == comfy / "models" / "checkpoints" / "sd_xl_base_1.0.safetensors"
    assert "missing" in missing.detail


def test_verify_planned_checks_the_exact_paths(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    planned = planned_files(catalogue, {"comfyui": tmp_path})
    reports = verify_planned(planned)
    assert reports
    assert all(r.state is FileState.missing for r in reports)
    assert {r.path for r in reports} == {p.path for p in planned}


def test_the_quick_check_at_start_uses_the_published_sizes(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    local = catalogue.local_models("comfyui", tmp_path)
    path = tmp_path / "models" / "checkpoints" / "v1-5-pruned-emaonly.safetensors"
    write_model(path)
    assert local.check(path).health is FileHealth.truncated
    assert LocalModels.of_comfyui(tmp_path).check(path).health is FileHealth.ok
