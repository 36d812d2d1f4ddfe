"""Every seat's start check of the lesson's model bundle: quick, and never a crash."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ai4artsed_desktop.models import bundle
from ai4artsed_desktop.models.bundle import MANIFEST, export_bundle, fingerprint
from ai4artsed_desktop.models.lesson_bundle import (
    LessonBundleState,
    check_for_settings,
    check_lesson_bundle,
)
from ai4artsed_desktop.settings import ComfySettings, LessonSettings, Settings

from .test_bundle import BIG, CATALOGUE, TEXT, Seat


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, str]:
    teacher = Seat(tmp_path / "teacher")
    teacher.put("comfyui", "big.safetensors", BIG)
    teacher.put("comfyui", "text.safetensors", TEXT)
    key = Ed25519PrivateKey.generate()
    folder = tmp_path / "stick"
    export_bundle(
        [p for p in teacher.planned if p.path.is_file()],
        teacher.roots,
        folder,
        key,
        catalogue=CATALOGUE,
    )
    return folder, fingerprint(key.public_key())


def test_files_to_install_are_found_by_size_and_a_complete_seat_says_so(
    tmp_path: Path, signed: tuple[Path, str]
) -> None:
    folder, fpr = signed
    seat = Seat(tmp_path / "seat")
    seat.put("comfyui", "big.safetensors", BIG[:-1])  # cut off
    status = check_lesson_bundle(str(folder), fpr.lower(), seat.planned)
    assert status.state is LessonBundleState.installable
    assert sorted(e.name for e in status.missing) == ["big.safetensors", "text.safetensors"]
    assert status.missing_bytes == len(BIG) + len(TEXT)
    seat.put("comfyui", "big.safetensors", BIG)
    seat.put("comfyui", "text.safetensors", TEXT)
    assert check_lesson_bundle(str(folder), fpr, seat.planned).state is LessonBundleState.complete


@pytest.mark.parametrize("location", ["", "   "])
def test_no_bundle_named_is_no_notice(location: str) -> None:
    assert check_lesson_bundle(location, "", []).state is LessonBundleState.none


@pytest.mark.parametrize("where", ["gone", "file", "nul"])
def test_an_unreachable_bundle_is_a_notice_not_a_crash(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("x", "utf-8")
    location = {"gone": str(tmp_path / "gone"), "file": str(tmp_path / "file"), "nul": "E:\0x"}
    status = check_lesson_bundle(location[where], "", [])
    assert status.state is LessonBundleState.unreachable
    assert status.location == location[where]


def test_a_changed_bundle_or_another_key_is_refused(
    tmp_path: Path, signed: tuple[Path, str]
) -> None:
    folder, fpr = signed
    other = fingerprint(Ed25519PrivateKey.generate().public_key())
    refused = check_lesson_bundle(str(folder), other, Seat(tmp_path / "seat").planned)
    assert refused.state is LessonBundleState.refused
    assert fpr in refused.detail
    raw = (folder / MANIFEST).read_bytes()
    (folder / MANIFEST).write_bytes(raw.replace(b"test.1", b"test.9"))
    changed = check_lesson_bundle(str(folder), fpr, Seat(tmp_path / "seat").planned)
    assert changed.state is LessonBundleState.refused
    assert "changed after it was signed" in changed.detail


def test_the_settings_name_the_bundle_and_the_model_folders(
    tmp_path: Path, signed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, fpr = signed
    monkeypatch.setattr("ai4artsed_desktop.models.lesson_bundle.load_catalogue", lambda: CATALOGUE)
    comfy = tmp_path / "seat" / "ComfyUI"
    settings = dataclasses.replace(
        Settings(),
        comfyui=ComfySettings(path=str(comfy)),
        lesson=LessonSettings(bundle_location=str(folder), bundle_key=fpr),
    )
    status = check_for_settings(settings)
    assert status.state is LessonBundleState.installable
    assert len(status.missing) == 2
    assert check_for_settings(Settings()).state is LessonBundleState.none
    assert bundle.MANIFEST == MANIFEST
