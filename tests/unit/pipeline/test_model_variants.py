"""Model files as users have them: variants, layouts, subfolders, case, damaged files.

/object_info comes from the ComfyUI simulator's own renderer over a models folder in
tmp_path (the names a server lists); the graph is the one a run would submit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.comfyui_parsing import NodeInfo, parse_object_info
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.availability import (
    Availability,
    ModelState,
    match_name,
    resolve_models,
)
from ai4artsed_desktop.pipeline.generation import GenerationJob, prepare_graph
from ai4artsed_desktop.pipeline.model_files import FileHealth, LocalModels
from ai4artsed_desktop.simulators.comfy_registry import Folders, object_info
from tests.fakes.safetensors_files import write_model

RESOURCES = resources_dir()
OUTPUTS = load_content(RESOURCES / "configs").outputs


class Server:
    """Serves /object_info/{class} as the simulator renders it over ``folders``."""

    def __init__(self, folders: Folders) -> None:
        self.folders = folders

    async def object_info(self, node_class: str | None = None) -> dict[str, NodeInfo]:
        return parse_object_info(object_info(self.folders, node_class))

    def put(self, folder: str, name: str) -> Path:
        path = self.folders.models / folder / name
        write_model(path)
        return path


@pytest.fixture
def server(tmp_path: Path) -> Server:
    folders = Folders(
        models=tmp_path / "ComfyUI" / "models",
        output=tmp_path / "out",
        input=tmp_path / "in",
        temp=tmp_path / "temp",
    )
    folders.ensure()  # empty: each test installs what a teacher downloaded
    return Server(folders)


@pytest.fixture
def local(tmp_path: Path) -> LocalModels:
    return LocalModels.of_comfyui(tmp_path / "ComfyUI")


def graph_of(result: Availability, output_id: str) -> dict[str, Any]:
    job = GenerationJob("run1", OUTPUTS[output_id], "a red kite", seed=7)
    graph, _, _ = prepare_graph(job, RESOURCES / "workflows", result.choice)
    return graph


def loaders(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["class_type"]: n["inputs"] for n in graph.values() if "Loader" in n["class_type"]}


def test_match_name_prefers_exact_then_case_then_shallowest_subfolder() -> None:
    names = ("v1-5-pruned-emaonly.safetensors", "v1-5-pruned-emaonly-fp16.safetensors")
    assert match_name(["v1-5-pruned-emaonly-fp16.safetensors"], names) == names[1]
    both = ["v1-5-pruned-emaonly-fp16.safetensors", "v1-5-pruned-emaonly.safetensors"]
    assert match_name(both, names) == names[0]  # the template's own name first
    assert match_name(["V1-5-Pruned-EmaOnly.SafeTensors"], names) == (
        "V1-5-Pruned-EmaOnly.SafeTensors"
    )
    nested = ["a/b/v1-5-pruned-emaonly.safetensors", "SD1.5\\v1-5-pruned-emaonly.safetensors"]
    assert match_name(nested, names) == "SD1.5\\v1-5-pruned-emaonly.safetensors"
    assert match_name(["v1-5-pruned-emaonly.ckpt", "other.safetensors"], names) is None


@pytest.mark.asyncio
async def test_sd15_fp16_download_in_a_subfolder_is_used(server: Server) -> None:
    server.put("checkpoints", "SD1.5/V1-5-Pruned-EmaOnly-FP16.safetensors")
    result = await resolve_models(server, OUTPUTS["sd15"])
    assert result.state is ModelState.available
    assert result.choice is not None
    assert result.choice.layout == ""
    listed = os.path.join("SD1.5", "V1-5-Pruned-EmaOnly-FP16.safetensors")
    assert loaders(graph_of(result, "sd15"))["CheckpointLoaderSimple"]["ckpt_name"] == listed
    assert result.files_checked is False  # no local folders given: names only


@pytest.mark.asyncio
async def test_sd35_single_file_layout_loads_the_encoders_from_the_checkpoint(
    server: Server,
) -> None:
    server.put("checkpoints", "sd3.5_large_fp8_scaled.safetensors")
    result = await resolve_models(server, OUTPUTS["sd35_large"])
    assert result.state is ModelState.available
    assert result.choice is not None
    assert (result.choice.layout, result.choice.workflow) == (
        "single_file",
        "sd35_large_single.json",
    )
    graph = graph_of(result, "sd35_large")
    assert set(loaders(graph)) == {"CheckpointLoaderSimple"}
    assert graph["1"]["inputs"]["ckpt_name"] == "sd3.5_large_fp8_scaled.safetensors"
    assert graph["4"]["inputs"] == {"clip": ["1", 1], "text": "a red kite"}
    assert graph["5"]["inputs"]["clip"] == ["1", 1]
    assert graph["7"]["inputs"]["seed"] == 7


@pytest.mark.asyncio
async def test_sd35_separate_encoders_with_the_fp8_t5(server: Server) -> None:
    server.put("checkpoints", "sd3.5_large.safetensors")
    server.put("text_encoders", "clip_l.safetensors")
    server.put("clip", "clip_g.safetensors")  # ComfyUI's older folder for text encoders
    server.put("text_encoders", "t5xxl_fp8_e4m3fn_scaled.safetensors")
    result = await resolve_models(server, OUTPUTS["sd35_large"])
    assert result.state is ModelState.available
    assert result.choice is not None
    assert result.choice.layout == ""
    triple = loaders(graph_of(result, "sd35_large"))["TripleCLIPLoader"]
    assert triple == {
        "clip_name1": "clip_l.safetensors",
        "clip_name2": "clip_g.safetensors",
        "clip_name3": "t5xxl_fp8_e4m3fn_scaled.safetensors",
    }


@pytest.mark.asyncio
async def test_both_layouts_installed_takes_the_outputs_own(server: Server) -> None:
    for folder, name in [
        ("checkpoints", "sd3.5_large.safetensors"),
        ("checkpoints", "sd3.5_large_fp8_scaled.safetensors"),
        ("text_encoders", "clip_l.safetensors"),
        ("text_encoders", "clip_g.safetensors"),
        ("text_encoders", "t5xxl_fp16.safetensors"),
    ]:
        server.put(folder, name)
    result = await resolve_models(server, OUTPUTS["sd35_large"])
    assert result.choice is not None
    assert result.choice.layout == ""


@pytest.mark.asyncio
async def test_nothing_installed_names_the_single_file_download(server: Server) -> None:
    result = await resolve_models(server, OUTPUTS["sd35_large"])
    assert result.state is ModelState.missing
    assert [m.file for m in result.missing] == ["sd3.5_large_fp8_scaled.safetensors"]
    assert result.reason == (
        "Model file 'sd3.5_large_fp8_scaled.safetensors' is missing; put it into "
        "ComfyUI/models/checkpoints."
    )


@pytest.mark.asyncio
async def test_a_begun_layout_names_its_own_missing_files_with_variants(server: Server) -> None:
    server.put("checkpoints", "sd3.5_large.safetensors")
    server.put("text_encoders", "clip_l.safetensors")
    result = await resolve_models(server, OUTPUTS["sd35_large"])
    assert [m.file for m in result.missing] == ["clip_g.safetensors", "t5xxl_fp16.safetensors"]
    assert result.reason.endswith(
        "Model file 't5xxl_fp16.safetensors' (or 't5xxl_fp8_e4m3fn_scaled.safetensors' or "
        "'t5xxl_fp8_e4m3fn.safetensors') is missing; put it into ComfyUI/models/text_encoders."
    )


@pytest.mark.asyncio
async def test_damaged_local_file_is_reported_with_its_path(
    server: Server, local: LocalModels
) -> None:
    path = server.put("checkpoints", "v1-5-pruned-emaonly-fp16.safetensors")
    path.write_bytes(path.read_bytes()[:-5])  # the download stopped early
    result = await resolve_models(server, OUTPUTS["sd15"], local)
    assert result.state is ModelState.damaged
    assert result.files_checked
    (damaged,) = result.damaged
    assert (damaged.file, damaged.folder, damaged.path) == (
        "v1-5-pruned-emaonly-fp16.safetensors",
        "checkpoints",
        str(path),
    )
    assert damaged.check.health is FileHealth.truncated
    assert result.reason == (
        "Model file 'v1-5-pruned-emaonly-fp16.safetensors' in ComfyUI/models/checkpoints is cut "
        "off (the download did not finish); download it again."
    )
    # Without the local folders (a remote server) only the name is known: it counts as there.
    remote = await resolve_models(server, OUTPUTS["sd15"])
    assert remote.state is ModelState.available
    assert not remote.files_checked


@pytest.mark.asyncio
async def test_an_empty_file_falls_back_to_a_whole_layout(
    server: Server, local: LocalModels
) -> None:
    server.put("checkpoints", "sd3.5_large.safetensors").write_bytes(b"")
    for name in ("clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors"):
        server.put("text_encoders", name)
    server.put("checkpoints", "sd3.5_large_fp8_scaled.safetensors")
    result = await resolve_models(server, OUTPUTS["sd35_large"], local)
    assert result.state is ModelState.available
    assert result.choice is not None
    assert result.choice.layout == "single_file"
    assert result.files_checked
    # The single file gone too: the damaged one is what the teacher must fix.
    (server.folders.models / "checkpoints" / "sd3.5_large_fp8_scaled.safetensors").unlink()
    result = await resolve_models(server, OUTPUTS["sd35_large"], local)
    assert result.state is ModelState.damaged
    assert [(d.file, d.check.health) for d in result.damaged] == [
        ("sd3.5_large.safetensors", FileHealth.empty)
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("output_id", "files"),
    [
        ("sdxl", [("checkpoints", "sd_xl_base_1.0_0.9vae.safetensors")]),
        (
            "stable_audio",
            [
                ("checkpoints", "Audio/stable-audio-open-1.0.safetensors"),
                ("text_encoders", "t5-base.safetensors"),
            ],
        ),
        ("ace_step", [("checkpoints", "ACE_Step_v1_3.5B.safetensors")]),
    ],
)
async def test_other_outputs_take_their_usual_downloads(
    server: Server, local: LocalModels, output_id: str, files: list[tuple[str, str]]
) -> None:
    for folder, name in files:
        server.put(folder, name)
    result = await resolve_models(server, OUTPUTS[output_id], local)
    assert result.state is ModelState.available, result.reason
    assert result.files_checked
