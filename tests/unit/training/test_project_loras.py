from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import LORA_FAMILIES, lora_fits
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.training.loras import (
    attach_to_config,
    install_lora,
    list_loras,
    read_lora,
    sidecar_for,
)
from ai4artsed_desktop.training.models import ModelFamily, detect_family, find_text_encoders
from ai4artsed_desktop.training.project import (
    load_project,
    new_project,
    save_project,
    validate_project_name,
    validate_trigger,
)


@pytest.mark.parametrize("name", ["clay", "My-Project_2", "a" * 64])
def test_valid_project_names(name: str) -> None:
    assert validate_project_name(f" {name} ") == name


@pytest.mark.parametrize("name", ["", "-x", "a/b", "../up", "con", "a" * 65, "ümlaut", "a b"])
def test_invalid_project_names(name: str) -> None:
    with pytest.raises(ConfigError, match="project name"):
        validate_project_name(name)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("lmnx", "lmnx"),
        ("  my  style ", "my style"),
        ("tönung-2", "tönung-2"),
        ("line\nbreak", "line break"),
    ],
)
def test_valid_triggers(raw: str, clean: str) -> None:
    assert validate_trigger(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "a,b", "123", "x/y", "_x", "a" * 41])
def test_invalid_triggers(raw: str) -> None:
    with pytest.raises(ConfigError, match="trigger"):
        validate_trigger(raw)


def fake_checkpoint(path: Path, keys: list[str]) -> Path:
    header = json.dumps(
        {key: {"dtype": "F16", "shape": [0], "data_offsets": [0, 0]} for key in keys}
    ).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def test_family_detection_reads_tensor_names_first(tmp_path: Path) -> None:
    sd3 = fake_checkpoint(
        tmp_path / "model.safetensors", ["model.diffusion_model.joint_blocks.0.x"]
    )
    assert detect_family(sd3) is ModelFamily.sd35
    xl = fake_checkpoint(tmp_path / "other.safetensors", ["conditioner.embedders.1.model.x"])
    assert detect_family(xl) is ModelFamily.sdxl
    (tmp_path / "sd_xl_base_1.0.safetensors").write_bytes(b"junk")
    assert detect_family(tmp_path / "sd_xl_base_1.0.safetensors") is ModelFamily.sdxl
    assert detect_family(tmp_path / "sd3.5_large.safetensors") is ModelFamily.sd35
    assert detect_family(tmp_path / "v1-5-pruned.safetensors") is ModelFamily.sd15


def test_text_encoders_are_found_next_to_the_model(tmp_path: Path) -> None:
    base = tmp_path / "checkpoints" / "sd3.5_large.safetensors"
    base.parent.mkdir()
    encoders = tmp_path / "text_encoders"
    encoders.mkdir()
    for name in ("clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp8_e4m3fn.safetensors"):
        (encoders / name).write_bytes(b"x")
    found = find_text_encoders(base)
    assert set(found) == {"clip_l", "clip_g", "t5xxl"}
    assert found["t5xxl"].name == "t5xxl_fp8_e4m3fn.safetensors"


def test_project_round_trip(tmp_path: Path) -> None:
    project = new_project(tmp_path, "clay", "lmnx", tmp_path / "sd_xl.safetensors", epochs=4)
    assert project.root == tmp_path / "clay"
    assert project.family is ModelFamily.sdxl
    save_project(project)
    assert load_project(project.root) == project
    (project.root / "project.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_project(project.root)


def test_install_and_list_loras(tmp_path: Path) -> None:
    source = tmp_path / "out" / "clay.safetensors"
    source.parent.mkdir()
    source.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    lora_dir = tmp_path / "loras"
    lora = install_lora(
        source,
        lora_dir,
        trigger="lmnx",
        base_model="sdxl.safetensors",
        project="clay",
        family="sdxl",
    )
    assert lora.file.read_bytes() == source.read_bytes()
    assert sidecar_for(lora.file).is_file()
    assert [p.name for p in lora_dir.iterdir() if p.name.startswith(".")] == []  # no temp left
    (lora_dir / "foreign.safetensors").write_bytes(b"x")
    listed = list_loras(lora_dir)
    assert {item.file.name for item in listed} == {"clay.safetensors", "foreign.safetensors"}
    mine = next(item for item in listed if item.file.name == "clay.safetensors")
    assert (mine.trigger, mine.base_model, mine.project, mine.family) == (
        "lmnx",
        "sdxl.safetensors",
        "clay",
        "sdxl",
    )
    assert read_lora(lora_dir / "foreign.safetensors").trigger == ""
    assert list_loras(tmp_path / "missing") == []


def test_attach_to_config_writes_a_valid_user_config(tmp_path: Path) -> None:
    lora_file = tmp_path / "loras" / "clay.safetensors"
    lora_file.parent.mkdir()
    lora_file.write_bytes(b"x")
    (tmp_path / "loras" / "clay.ai4artsed.json").write_text(
        json.dumps({"trigger": "lmnx", "created": "2026-01-01T00:00:00+00:00"}), encoding="utf-8"
    )
    lora = read_lora(lora_file)
    user = tmp_path / "user"
    target = attach_to_config(lora, "bauhaus", 0.8, user)
    assert target == user / "interception" / "bauhaus.json"
    library = load_content(resources_dir() / "configs", user)
    config = library.interceptions["bauhaus"]
    assert not config.builtin
    assert [(ref.file, ref.strength, ref.trigger) for ref in config.loras] == [
        ("clay.safetensors", 0.8, "lmnx")
    ]
    attach_to_config(lora, "bauhaus", 0.5, user)  # again: replaced, not duplicated
    config = load_content(resources_dir() / "configs", user).interceptions["bauhaus"]
    assert [(ref.file, ref.strength) for ref in config.loras] == [("clay.safetensors", 0.5)]


def test_an_attached_lora_keeps_its_base_model_family(tmp_path: Path) -> None:
    source = tmp_path / "fluxclay.safetensors"
    source.write_bytes(b"x")
    lora = install_lora(
        source, tmp_path / "loras", trigger="lmnx", base_model="/m/flux1-dev.safetensors",
        project="fluxclay", family="flux",
    )  # fmt: skip
    user = tmp_path / "user"
    attach_to_config(lora, "bauhaus", 0.7, user)
    (ref,) = load_content(resources_dir() / "configs", user).interceptions["bauhaus"].loras
    assert (ref.file, ref.family) == ("fluxclay.safetensors", "flux")
    outputs = load_content(resources_dir() / "configs").outputs
    assert not lora_fits(ref.family, outputs["sd15"].lora_family)
    assert lora_fits(ref.family, outputs["stable_audio"].lora_family)  # no family: unknown
    assert not lora_fits(ref.family, outputs["sd35_large"].lora_family)
    assert lora_fits(ref.family, outputs["flux1_dev"].lora_family)


def test_lora_families_are_the_trained_families() -> None:
    assert ("", *(family.value for family in ModelFamily)) == LORA_FAMILIES


def test_attach_to_config_rolls_back_what_the_loader_rejects(tmp_path: Path) -> None:
    lora_file = tmp_path / "clay.safetensors"
    lora_file.write_bytes(b"x")
    lora = read_lora(lora_file)
    user = tmp_path / "user"
    with pytest.raises(ConfigError, match="could not be added"):
        attach_to_config(lora, "bauhaus", 99.0, user)
    assert not (user / "interception" / "bauhaus.json").exists()
    with pytest.raises(ConfigError, match="no interception config"):
        attach_to_config(lora, "does-not-exist", 0.5, user)
