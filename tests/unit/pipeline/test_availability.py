"""Availability checks against /object_info documents (both combo encodings), and wording.

The documents come from the ComfyUI simulator's own /object_info renderer over a models
folder in tmp_path (what the server would send), parsed by the client's parser; the HTTP path
is covered in tests/integration/test_workflow_comfy.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.comfyui_parsing import NodeInfo, parse_object_info
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import LoraRef, OutputConfig
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.availability import (
    MissingModel,
    describe_missing,
    missing_loras,
    missing_models,
)
from ai4artsed_desktop.pipeline.lora import LoraSpec
from ai4artsed_desktop.simulators.comfy_registry import Folders, object_info

OUTPUTS = load_content(resources_dir() / "configs").outputs


class RenderedObjectInfo:
    """Serves /object_info/{class} as the simulator renders it; counts the requests."""

    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self.requests: list[str | None] = []

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        self.requests.append(node_class)
        return parse_object_info(object_info(self.folders, node_class))


class FixedObjectInfo:
    """Serves a fixed /object_info document (e.g. a Windows server's answer)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        if node_class is None:
            return parse_object_info(self.document)
        entry = self.document.get(node_class)
        return parse_object_info({} if entry is None else {node_class: entry})


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    result = Folders(
        models=tmp_path / "models",
        output=tmp_path / "output",
        input=tmp_path / "input",
        temp=tmp_path / "temp",
    )
    result.ensure()
    result.seed_models()
    return result


@pytest.fixture
def server(folders: Folders) -> RenderedObjectInfo:
    return RenderedObjectInfo(folders)


@pytest.mark.asyncio
@pytest.mark.parametrize("output_id", ["sd15", "sdxl", "sd35_large", "stable_audio", "ace_step"])
async def test_seeded_models_folder_has_everything(
    server: RenderedObjectInfo, output_id: str
) -> None:
    assert await missing_models(server, OUTPUTS[output_id]) == []


@pytest.mark.asyncio
async def test_missing_checkpoint_classic_combo(server: RenderedObjectInfo) -> None:
    (server.folders.models / "checkpoints" / "sd3.5_large.safetensors").unlink()
    missing = await missing_models(server, OUTPUTS["sd35_large"])
    assert missing == [
        MissingModel(
            "sd3.5_large.safetensors", "checkpoints", "CheckpointLoaderSimple", "ckpt_name"
        )
    ]
    assert describe_missing(missing) == (
        "Model file 'sd3.5_large.safetensors' is missing; put it into ComfyUI/models/checkpoints."
    )


@pytest.mark.asyncio
async def test_missing_text_encoders_v3_combo_and_one_request_per_class(
    server: RenderedObjectInfo,
) -> None:
    for name in ("clip_g.safetensors", "t5xxl_fp16.safetensors"):
        (server.folders.models / "text_encoders" / name).unlink()
    missing = await missing_models(server, OUTPUTS["sd35_large"])
    assert [(m.file, m.node_class, m.input) for m in missing] == [
        ("clip_g.safetensors", "TripleCLIPLoader", "clip_name2"),
        ("t5xxl_fp16.safetensors", "TripleCLIPLoader", "clip_name3"),
    ]
    # one /object_info/{class} per class, not per input, never the whole document
    assert server.requests == ["CheckpointLoaderSimple", "TripleCLIPLoader"]
    assert describe_missing(missing[0]) == (
        "Model file 'clip_g.safetensors' is missing; put it into ComfyUI/models/text_encoders."
    )


@pytest.mark.asyncio
async def test_file_in_a_subfolder_counts_as_found(server: RenderedObjectInfo) -> None:
    checkpoints = server.folders.models / "checkpoints"
    (checkpoints / "Official").mkdir()
    (checkpoints / "v1-5-pruned-emaonly.safetensors").rename(
        checkpoints / "Official" / "v1-5-pruned-emaonly.safetensors"
    )
    assert await missing_models(server, OUTPUTS["sd15"]) == []


@pytest.mark.asyncio
async def test_loras_checked_against_lora_loader(server: RenderedObjectInfo) -> None:
    loras_dir = server.folders.models / "loras"
    (loras_dir / "bauhaus.safetensors").write_bytes(b"x")
    loras: list[LoraSpec | LoraRef] = [
        LoraSpec("bauhaus.safetensors"),
        LoraRef("dada.safetensors", 0.5, "dada"),
        LoraSpec("dada.safetensors"),  # asked once
    ]
    missing = await missing_loras(server, loras)
    assert missing == [MissingModel("dada.safetensors", "loras", "LoraLoader", "lora_name")]
    assert describe_missing(missing) == (
        "LoRA file 'dada.safetensors' is missing; put it into ComfyUI/models/loras."
    )
    (loras_dir / "dada.safetensors").write_bytes(b"y")
    assert await missing_loras(server, loras) == []
    assert await missing_loras(server, []) == []


@pytest.mark.asyncio
async def test_backslash_names_from_a_windows_server_match() -> None:
    windows = FixedObjectInfo(
        {
            "CheckpointLoaderSimple": {
                "input": {"required": {"ckpt_name": [["SD\\v1-5-pruned-emaonly.safetensors"], {}]}},
                "output": ["MODEL", "CLIP", "VAE"],
                "output_node": False,
            },
            "LoraLoader": {
                "input": {"required": {"lora_name": ["COMBO", {"options": ["kids\\zine.sft"]}]}},
                "output": ["MODEL", "CLIP"],
                "output_node": False,
            },
        }
    )
    assert await missing_loras(windows, [LoraSpec("kids/zine.sft")]) == []
    assert await missing_models(windows, OUTPUTS["sd15"]) == []
    (missing,) = await missing_loras(windows, [LoraSpec("zine.sft")])  # LoRAs: exact names
    assert missing.elsewhere == ("kids\\zine.sft",)


@pytest.mark.asyncio
async def test_unknown_node_class_is_reported_as_such() -> None:
    old_server = FixedObjectInfo({})
    # Neither layout is begun: the one-file layout needs the fewest files.
    (missing,) = await missing_models(old_server, OUTPUTS["sd35_large"])
    assert missing.node_missing
    assert describe_missing(missing) == (
        "Model file 'sd3.5_large_fp8_scaled.safetensors' cannot be loaded: ComfyUI has no "
        "'CheckpointLoaderSimple' node; update ComfyUI."
    )
    old_server.document["CheckpointLoaderSimple"] = {
        "input": {"required": {"ckpt_name": [["sd3.5_large.safetensors"], {}]}},
        "output": ["MODEL", "CLIP", "VAE"],
        "output_node": False,
    }
    missing = await missing_models(old_server, OUTPUTS["sd35_large"])  # the begun layout
    assert [m.file for m in missing] == [
        "clip_l.safetensors",
        "clip_g.safetensors",
        "t5xxl_fp16.safetensors",
    ]
    assert all(m.node_missing for m in missing)
    assert describe_missing(missing[0]) == (
        "Model file 'clip_l.safetensors' cannot be loaded: ComfyUI has no 'TripleCLIPLoader' "
        "node; update ComfyUI."
    )


def test_describe_several_and_none() -> None:
    items = [
        MissingModel("a.safetensors", "checkpoints", "CheckpointLoaderSimple", "ckpt_name"),
        MissingModel("b.safetensors", "loras", "LoraLoader", "lora_name"),
    ]
    assert describe_missing(items) == (
        "Model file 'a.safetensors' is missing; put it into ComfyUI/models/checkpoints. "
        "LoRA file 'b.safetensors' is missing; put it into ComfyUI/models/loras."
    )
    assert describe_missing([]) == ""


@pytest.mark.asyncio
async def test_output_without_required_models_asks_nothing(server: RenderedObjectInfo) -> None:
    code_output: OutputConfig = OUTPUTS["p5js"]
    assert await missing_models(server, code_output) == []
    assert server.requests == []
