"""``models bundle export|import|key`` between two data folders, as a teacher runs it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import ComfySettings, Settings, save

from .test_cli import run_cli

#: Files of two outputs whose catalogue entries have no published hash (random bytes stand
#: in for them; a file with a published hash would be refused as not the publisher's).
FILES = {
    "checkpoints/sd_turbo.safetensors": os.urandom(200_000),
    "checkpoints/ace_step_v1_3.5b.safetensors": os.urandom(150_000),
}


def make_pc(base: Path) -> tuple[Path, Path]:
    """A data folder whose settings point at its own ComfyUI folder."""
    data, comfy = base / "data", base / "ComfyUI"
    settings = dataclasses.replace(Settings(), comfyui=ComfySettings(path=str(comfy)))
    save(settings, AppPaths.under(data).settings_file)
    return data, comfy


def model(comfy: Path, place: str) -> Path:
    return comfy / "models" / place


@pytest.fixture
def teacher(tmp_path: Path) -> Path:
    data, comfy = make_pc(tmp_path / "teacher")
    for place, content in FILES.items():
        path = model(comfy, place)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return data


def test_round_trip_between_two_data_folders(tmp_path: Path, teacher: Path) -> None:
    stick = tmp_path / "stick"
    key = run_cli("models", "bundle", "key", "--data-dir", str(teacher))
    assert key.returncode == 0, key.stderr
    fpr = key.stdout.strip().rsplit(" ", 1)[1]
    exported = run_cli(
        "models", "bundle", "export", str(stick), "--outputs", "sd_turbo,ace_step",
        "--json", "--data-dir", str(teacher),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    report = json.loads(exported.stdout)
    assert report["fingerprint"] == fpr
    assert {f["outcome"] for f in report["files"]} == {"exported"}

    seat_data, seat_comfy = make_pc(tmp_path / "seat")
    unknown = run_cli("models", "bundle", "import", str(stick), "--data-dir", str(seat_data))
    assert unknown.returncode == 1
    assert fpr in unknown.stderr
    assert not (seat_comfy / "models").exists()

    wrong = run_cli(
        "models", "bundle", "import", str(stick), "--key", "AAAA-" * 7 + "AAAA",
        "--data-dir", str(seat_data),
    )  # fmt: skip
    assert wrong.returncode == 1

    typed = fpr.lower().replace("-", " ")  # as a teacher might type it
    done = run_cli(
        "models", "bundle", "import", str(stick), "--key", typed, "--data-dir", str(seat_data)
    )
    assert done.returncode == 0, done.stderr + done.stdout
    for place, content in FILES.items():
        assert model(seat_comfy, place).read_bytes() == content
        assert f"installed     comfyui/{place.split('/')[1]}" in done.stdout

    again = run_cli(
        "models", "bundle", "import", str(stick), "--json", "--data-dir", str(seat_data)
    )  # the key was remembered
    assert again.returncode == 0, again.stderr
    assert {f["outcome"] for f in json.loads(again.stdout)["files"]} == {"intact"}


def test_damage_on_the_stick_gives_exit_2_and_names_the_file(tmp_path: Path, teacher: Path) -> None:
    stick = tmp_path / "stick"
    assert (
        run_cli("models", "bundle", "export", str(stick), "--data-dir", str(teacher)).returncode
        == 0
    )
    fpr = run_cli("models", "bundle", "key", "--data-dir", str(teacher)).stdout.split()[-1]
    copy = stick / "files" / "comfyui" / "models" / "checkpoints" / "sd_turbo.safetensors"
    data = bytearray(copy.read_bytes())
    data[5000] ^= 0x40
    copy.write_bytes(bytes(data))
    seat_data, seat_comfy = make_pc(tmp_path / "seat")
    result = run_cli(
        "models", "bundle", "import", str(stick), "--key", fpr, "--data-dir", str(seat_data)
    )
    assert result.returncode == 2, result.stderr
    assert "damaged       comfyui/sd_turbo.safetensors" in result.stdout
    assert "Not done: sd_turbo.safetensors." in result.stdout
    assert not model(seat_comfy, "checkpoints/sd_turbo.safetensors").exists()
    assert model(seat_comfy, "checkpoints/ace_step_v1_3.5b.safetensors").is_file()

    manifest = stick / "ai4artsed-bundle.json"
    manifest.write_text(manifest.read_text("utf-8").replace('"size": 1', '"size": 2'), "utf-8")
    tampered = run_cli(
        "models", "bundle", "import", str(stick), "--key", fpr, "--data-dir", str(seat_data)
    )
    assert tampered.returncode == 1
    assert "changed after it was signed" in tampered.stderr


def test_without_a_comfyui_folder_import_says_so(tmp_path: Path, teacher: Path) -> None:
    stick = tmp_path / "stick"
    assert (
        run_cli("models", "bundle", "export", str(stick), "--data-dir", str(teacher)).returncode
        == 0
    )
    result = run_cli("models", "bundle", "import", str(stick), "--data-dir", str(tmp_path / "x"))
    assert result.returncode == 1
    assert "No ComfyUI or SwarmUI folder" in result.stderr


def test_a_lesson_profile_names_the_bundle_and_its_key_for_every_seat(
    tmp_path: Path, teacher: Path
) -> None:
    stick, lesson = tmp_path / "stick", tmp_path / "lesson.json"
    assert (
        run_cli("models", "bundle", "export", str(stick), "--data-dir", str(teacher)).returncode
        == 0
    )
    exported = run_cli(
        "profile", "export", str(lesson), "--bundle", str(stick), "--data-dir", str(teacher)
    )
    assert exported.returncode == 0, exported.stderr
    fpr = run_cli("models", "bundle", "key", "--data-dir", str(teacher)).stdout.split()[-1]
    assert json.loads(lesson.read_text("utf-8"))["model_bundle"] == {
        "location": str(stick),
        "key": fpr,
    }
    seat_data, seat_comfy = make_pc(tmp_path / "seat")
    applied = run_cli("profile", "import", str(lesson), "--data-dir", str(seat_data))
    assert applied.returncode == 0, applied.stderr
    done = run_cli("models", "bundle", "import", "--data-dir", str(seat_data))  # no DIR, no key
    assert done.returncode == 0, done.stderr + done.stdout
    for place, content in FILES.items():
        assert model(seat_comfy, place).read_bytes() == content
