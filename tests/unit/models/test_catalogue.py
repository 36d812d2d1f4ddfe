"""The model catalogue: it loads, covers every output and slot, and refuses broken data."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.models.catalogue import (
    SCHEMA_VERSION,
    catalogue_file,
    load_catalogue,
    parse_catalogue,
    planned_files,
    uncovered_names,
)
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.model_status import needs_models


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(catalogue_file().read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


def test_the_built_in_catalogue_loads_with_its_schema_version() -> None:
    catalogue = load_catalogue()
    assert catalogue.schema == SCHEMA_VERSION
    assert catalogue.version
    assert "v1-5-pruned-emaonly.safetensors" in catalogue.files


def test_every_output_that_needs_model_files_has_a_catalogue_entry(content: ContentLibrary) -> None:
    catalogue = load_catalogue()
    needing = [o.id for o in content.outputs.values() if needs_models(o)]
    assert needing, "no output needs model files: the test would prove nothing"
    assert [i for i in needing if i not in catalogue.outputs] == []
    # SwarmUI's output has its model in SwarmUI's folder.
    assert catalogue.outputs["swarmui_t2i"].backend == "swarmui"


def test_every_variant_and_layout_file_of_every_slot_is_covered(content: ContentLibrary) -> None:
    catalogue = load_catalogue()
    assert uncovered_names(catalogue, content.outputs.values()) == []
    names = {n for o in content.outputs.values() for s in o.required_models for n in s.names}
    assert "t5xxl_fp8_e4m3fn_scaled.safetensors" in names  # variants are part of the set


def test_the_one_click_files_of_each_output_fill_one_of_its_layouts(
    content: ContentLibrary,
) -> None:
    catalogue = load_catalogue()
    for output_id, entry in catalogue.outputs.items():
        output = content.outputs[output_id]
        if entry.backend != "comfyui":
            continue
        layouts = [output.required_models, *(lay.required_models for lay in output.layouts)]
        got = {name.casefold() for name in entry.get}
        assert any(
            all(any(n.casefold() in got for n in slot.names) for slot in slots) for slots in layouts
        ), f"{output_id}: {entry.get} fills no layout"


def test_a_file_is_in_the_folder_its_slots_name(content: ContentLibrary) -> None:
    catalogue = load_catalogue()
    for output in content.outputs.values():
        slots = [
            *output.required_models,
            *(s for lay in output.layouts for s in lay.required_models),
        ]
        for slot in slots:
            for name in slot.names:
                entry = catalogue.file(name)
                assert entry is not None, name
                assert entry.folder == slot.folder, name


def test_every_ollama_model_of_every_vram_preset_is_in_the_catalogue(
    content: ContentLibrary,
) -> None:
    catalogue = load_catalogue()
    for preset in content.presets.values():
        wanted = {v.partition("/")[2] for v in preset.roles.values() if v.startswith("ollama/")}
        found = {m.model.name for m in catalogue.preset_models(preset)}
        assert wanted == found, f"preset {preset.tier_gb} GB lacks {wanted - found}"


def test_verified_entries_have_size_and_hash_and_the_gated_ones_ask_for_acceptance() -> None:
    catalogue = load_catalogue()
    verified = [f for f in catalogue.files.values() if f.verified]
    assert verified, "no entry is verified"
    for entry in catalogue.files.values():
        if entry.verified:
            assert entry.size is not None
            assert entry.sha256 is not None
        if entry.licence.gated:
            assert entry.licence.accept, entry.name
    assert catalogue.files["sd3.5_large.safetensors"].licence.gated
    assert all(u.startswith("https://") for f in catalogue.files.values() for u in f.urls)


def test_planned_files_put_each_file_into_its_backend_folder(tmp_path: Path) -> None:
    catalogue = load_catalogue()
    comfy, swarm = tmp_path / "ComfyUI", tmp_path / "SwarmUI"
    planned = planned_files(catalogue, {"comfyui": comfy, "swarmui": swarm})
    by_name = {(p.backend, p.file.name): p for p in planned}
    sd15 = by_name[("comfyui", "v1-5-pruned-emaonly.safetensors")]
    assert sd15.path == comfy / "models" / "checkpoints" / "v1-5-pruned-emaonly.safetensors"
    t5 = by_name[("comfyui", "t5-base.safetensors")]
    assert t5.path.parent == comfy / "models" / "text_encoders"
    swarm_sd35 = by_name[("swarmui", "sd3.5_large.safetensors")]
    assert swarm_sd35.path == (
        swarm
        / "Models"
        / "Stable-Diffusion"
        / "OfficialStableDiffusion"
        / "sd3.5_large.safetensors"
    )
    only_comfy = planned_files(catalogue, {"comfyui": comfy})
    assert {p.backend for p in only_comfy} == {"comfyui"}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(schema=99), "schema"),
        (lambda d: d["files"]["sd_xl_base_1.0.safetensors"].update(sha256="ABC"), "sha256"),
        (lambda d: d["files"]["clip_l.safetensors"].update(verified=True), "verified"),
        (lambda d: d["files"]["clip_l.safetensors"].update(size=True), "size"),
        (lambda d: d["files"]["clip_l.safetensors"].update(size=-5), "size"),
        (lambda d: d["files"]["clip_l.safetensors"].update(licence="nope"), "licence"),
        (lambda d: d["files"]["clip_l.safetensors"].update(urls=["ftp://x"]), "urls"),
        (lambda d: d["files"]["clip_l.safetensors"].update(urls=[]), "urls"),
        (lambda d: d["files"]["clip_l.safetensors"].update(folder="nowhere"), "folder"),
        (lambda d: d["outputs"]["sd15"].update(get=["unknown.safetensors"]), "get"),
        (lambda d: d["outputs"]["sd15"].update(backend="other"), "backend"),
        (lambda d: d["outputs"]["swarmui_t2i"].update(subfolder="../up"), "subfolder"),
        (lambda d: d["ollama"]["qwen3:4b"].pop("approx_size"), "approx_size"),
        (lambda d: d.pop("licences"), "licences"),
    ],
)
def test_broken_catalogue_data_is_refused_with_its_place_named(
    raw: dict[str, Any], change: Callable[[dict[str, Any]], object], where: str
) -> None:
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(data)
    assert where in caught.value.user_message
    assert caught.value.key == "error.catalogue_broken"
    assert where in caught.value.detail


def test_an_unreadable_catalogue_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON") as caught:
        load_catalogue(bad)
    assert caught.value.key == "error.catalogue_not_json"
    with pytest.raises(ConfigError, match="cannot be read") as caught:
        load_catalogue(tmp_path / "gone.json")
    assert caught.value.key == "error.catalogue_unreadable"


def test_a_folder_the_catalogue_does_not_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no comfyui folder for 'upscalers'") as caught:
        load_catalogue().target_dir("comfyui", "upscalers", tmp_path)
    assert caught.value.key == "error.catalogue_no_folder"
    assert caught.value.params == {"backend": "comfyui", "folder": "upscalers"}
