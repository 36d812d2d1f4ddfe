"""The FLUX.1 [dev] image output: its two templates, the mapping, model files and LoRAs.

The own layout is ComfyUI's separate-files recipe (UNETLoader + DualCLIPLoader type
"flux" + VAELoader); the ``single_file`` layout is Comfy-Org's fp8 checkpoint with the text
encoders and the autoencoder inside. Both sample at CFG 1.0; the expert's "prompt strength"
(mapping key ``cfg``) goes to FluxGuidance, the knob Flux dev was distilled with.
/object_info comes from the ComfyUI simulator's renderer over a models folder in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.comfyui_parsing import NodeInfo, parse_object_info
from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.models.catalogue import load_catalogue
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.availability import ModelState, resolve_models
from ai4artsed_desktop.pipeline.generation import GenerationJob, prepare_graph
from ai4artsed_desktop.pipeline.lora import LoraSpec, inject_loras
from ai4artsed_desktop.pipeline.model_files import FileHealth, LocalModels
from ai4artsed_desktop.pipeline.workflow import apply_inputs
from ai4artsed_desktop.simulators.comfy_registry import Folders, object_info
from tests.fakes.safetensors_files import write_model

RESOURCES = resources_dir()
LIBRARY = load_content(RESOURCES / "configs")
FLUX = LIBRARY.outputs["flux1_dev"]
LAYOUTS = {"": FLUX.workflow, **{lay.id: lay.workflow for lay in FLUX.layouts}}
SEPARATE = [
    ("diffusion_models", "flux1-dev.safetensors"),
    ("text_encoders", "clip_l.safetensors"),
    ("text_encoders", "t5xxl_fp16.safetensors"),
    ("vae", "ae.safetensors"),
]


def template(layout: str) -> dict[str, Any]:
    return load_workflow(FLUX, RESOURCES / "workflows", LAYOUTS[layout])


def by_class(graph: dict[str, Any], class_type: str) -> list[str]:
    return [node_id for node_id, node in graph.items() if node["class_type"] == class_type]


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
    folders.ensure()
    return Server(folders)


# ------------------------------------------------------------------ the templates


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_both_layouts_sample_at_cfg_one_with_flux_guidance(layout: str) -> None:
    graph = template(layout)
    (sampler,) = by_class(graph, "KSampler")
    (guidance,) = by_class(graph, "FluxGuidance")
    (shift,) = by_class(graph, "ModelSamplingFlux")
    (latent,) = by_class(graph, "EmptySD3LatentImage")  # 16-channel latent, like SD3
    inputs = graph[sampler]["inputs"]
    assert inputs["cfg"] == 1.0
    assert (inputs["sampler_name"], inputs["scheduler"]) == ("euler", "simple")
    assert inputs["positive"] == [guidance, 0]
    assert inputs["model"] == [shift, 0]
    assert inputs["latent_image"] == [latent, 0]
    negative = graph[inputs["negative"][0]]
    assert negative["class_type"] == "ConditioningZeroOut"  # ignored at CFG 1: no second text
    assert not any(
        t.node == sampler and t.input == "cfg" for ts in FLUX.mapping.values() for t in ts
    )


def test_separate_files_use_the_flux_loaders() -> None:
    graph = template("")
    (unet,) = by_class(graph, "UNETLoader")
    (dual,) = by_class(graph, "DualCLIPLoader")
    (vae,) = by_class(graph, "VAELoader")
    assert graph[unet]["inputs"] == {
        "unet_name": "flux1-dev.safetensors",
        "weight_dtype": "default",
    }
    assert graph[dual]["inputs"] == {
        "clip_name1": "t5xxl_fp16.safetensors",
        "clip_name2": "clip_l.safetensors",
        "type": "flux",
    }
    assert graph[vae]["inputs"] == {"vae_name": "ae.safetensors"}
    assert by_class(graph, "CheckpointLoaderSimple") == []


def test_single_file_layout_takes_clip_and_vae_from_the_checkpoint() -> None:
    graph = template("single_file")
    (ckpt,) = by_class(graph, "CheckpointLoaderSimple")
    assert graph[ckpt]["inputs"] == {"ckpt_name": "flux1-dev-fp8.safetensors"}
    (encode,) = by_class(graph, "CLIPTextEncode")
    (decode,) = by_class(graph, "VAEDecode")
    assert graph[encode]["inputs"]["clip"] == [ckpt, 1]
    assert graph[decode]["inputs"]["vae"] == [ckpt, 2]
    assert set(by_class(graph, "UNETLoader") + by_class(graph, "DualCLIPLoader")) == set()


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_required_models_name_every_file_of_each_layout(layout: str) -> None:
    graph = template(layout)
    slots = FLUX.required_models if not layout else FLUX.layouts[0].required_models
    file_inputs = {"unet_name", "clip_name1", "clip_name2", "vae_name", "ckpt_name"}
    named = {
        (node["class_type"], name, value)
        for node in graph.values()
        for name, value in node["inputs"].items()
        if name in file_inputs
    }
    assert named == {(s.node_class, s.input, s.file) for s in slots}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_mapping_fills_size_steps_seed_and_guidance(layout: str) -> None:
    graph = apply_inputs(
        template(layout),
        FLUX,
        {"prompt": "a kite", "seed": 11, "steps": 8, "cfg": 2.5, "width": 832, "height": 1216,
         "negative": "blurry"},
    )  # fmt: skip
    (sampler,) = by_class(graph, "KSampler")
    (encode,) = by_class(graph, "CLIPTextEncode")
    assert graph[encode]["inputs"]["text"] == "a kite"
    assert (graph[sampler]["inputs"]["seed"], graph[sampler]["inputs"]["steps"]) == (11, 8)
    assert graph[sampler]["inputs"]["cfg"] == 1.0  # never the expert's value
    assert graph[by_class(graph, "FluxGuidance")[0]]["inputs"]["guidance"] == 2.5
    for cls in ("EmptySD3LatentImage", "ModelSamplingFlux"):  # the shift follows the size
        inputs = graph[by_class(graph, cls)[0]]["inputs"]
        assert (inputs["width"], inputs["height"]) == (832, 1216)
    assert "blurry" not in str(graph)  # Flux dev has no negative prompt to fill


def test_defaults_are_flux_dev_s_own() -> None:
    graph = apply_inputs(template(""), FLUX, {"prompt": "x", "seed": 1})
    assert graph[by_class(graph, "FluxGuidance")[0]]["inputs"]["guidance"] == 3.5
    assert graph[by_class(graph, "KSampler")[0]]["inputs"]["steps"] == 20
    assert set(FLUX.mapping) == {"prompt", "seed", "steps", "cfg", "width", "height"}


def test_output_card_licence_tiers_and_kind() -> None:
    assert FLUX.media.value == "image"  # kids see it as "Bild" / "Picture"
    assert FLUX.name.de.startswith("Bild – ")
    assert FLUX.name.en.startswith("Image – ")
    assert "Non-Commercial License" in FLUX.description.de
    assert "Non-Commercial License" in FLUX.description.en
    assert "nicht-kommerziell" in FLUX.description.de
    assert "non-commercially" in FLUX.description.en
    assert FLUX.needs_english
    assert FLUX.adaptation is not None
    tiers = {t for t, preset in LIBRARY.presets.items() if "flux1_dev" in preset.outputs}
    assert tiers == {24, 32, 48, 96}
    assert FLUX.vram_gb <= 24 - 2  # the arbiter must be able to free this much on 24 GB


def test_the_catalogue_offers_the_single_file_under_the_non_commercial_licence() -> None:
    catalogue = load_catalogue()
    assert catalogue.outputs["flux1_dev"].get == ("flux1-dev-fp8.safetensors",)
    for name in ("flux1-dev.safetensors", "flux1-dev-fp8.safetensors"):
        licence = catalogue.files[name].licence
        assert (licence.commercial, licence.gated, licence.accept) == (False, True, True)
    assert catalogue.files["ae.safetensors"].folder == "vae"


# ------------------------------------------------------------------ LoRAs


def test_the_image_outputs_name_the_family_of_their_loras(tmp_path: Path) -> None:
    families = {o.id: o.lora_family for o in LIBRARY.outputs.values() if o.lora_family}
    assert families == {"sd15": "sd15", "sdxl": "sdxl", "sd35_large": "sd35", "flux1_dev": "flux"}
    user = tmp_path / "user"
    (user / "outputs").mkdir(parents=True)
    raw = json.loads((RESOURCES / "configs" / "outputs" / "flux1_dev.json").read_text("utf-8"))
    (user / "outputs" / "flux1_dev.json").write_text(
        json.dumps({**raw, "lora_family": "flux2"}), encoding="utf-8"
    )
    library = load_content(RESOURCES / "configs", user)
    (problem,) = [p for p in library.problems if p.file == "outputs/flux1_dev.json"]
    assert "lora_family" in problem.field
    assert library.outputs["flux1_dev"].builtin  # the broken copy is skipped, not half-used


def test_lora_goes_between_the_unet_and_dual_clip_and_their_users() -> None:
    graph = apply_inputs(template(""), FLUX, {"prompt": "x", "seed": 1})
    result = inject_loras(graph, [LoraSpec("flux_style.safetensors", 0.8, 0.6)])
    out = result.graph
    (lora,) = by_class(out, "LoraLoader")
    (unet,) = by_class(out, "UNETLoader")
    (dual,) = by_class(out, "DualCLIPLoader")
    assert out[lora]["inputs"]["model"] == [unet, 0]
    assert out[lora]["inputs"]["clip"] == [dual, 0]
    assert (out[lora]["inputs"]["strength_model"], out[lora]["inputs"]["strength_clip"]) == (
        0.8,
        0.6,
    )
    assert out[by_class(out, "ModelSamplingFlux")[0]]["inputs"]["model"] == [lora, 0]
    assert out[by_class(out, "CLIPTextEncode")[0]]["inputs"]["clip"] == [lora, 1]
    assert result.model_sources == ((unet, 0),)
    assert result.clip_sources == ((dual, 0),)


def test_lora_on_the_single_file_takes_model_and_clip_of_the_checkpoint() -> None:
    graph = apply_inputs(template("single_file"), FLUX, {"prompt": "x", "seed": 1})
    specs = [LoraSpec("a.safetensors"), LoraSpec("b.safetensors", 0.5, model_only=True)]
    out = inject_loras(graph, specs).graph
    (ckpt,) = by_class(out, "CheckpointLoaderSimple")
    (first,) = by_class(out, "LoraLoader")
    (second,) = by_class(out, "LoraLoaderModelOnly")
    assert out[first]["inputs"]["model"] == [ckpt, 0]
    assert out[first]["inputs"]["clip"] == [ckpt, 1]
    assert out[second]["inputs"]["model"] == [first, 0]
    assert out[by_class(out, "ModelSamplingFlux")[0]]["inputs"]["model"] == [second, 0]
    assert out[by_class(out, "CLIPTextEncode")[0]]["inputs"]["clip"] == [first, 1]
    assert out[by_class(out, "VAEDecode")[0]]["inputs"]["vae"] == [ckpt, 2]  # untouched


# ------------------------------------------------------------------ model files


@pytest.mark.asyncio
async def test_separate_files_in_comfyui_s_folders_are_found(server: Server) -> None:
    server.put("unet", "flux1-dev.safetensors")  # the older folder name of diffusion_models
    server.put("clip", "clip_l.safetensors")  # the older folder name of text_encoders
    server.put("text_encoders", "t5xxl_fp8_e4m3fn.safetensors")  # the smaller T5
    server.put("vae", "ae.safetensors")
    result = await resolve_models(server, FLUX)
    assert result.state is ModelState.available, result.reason
    assert result.choice is not None
    assert result.choice.layout == ""
    job = GenerationJob("run1", FLUX, "a red kite", seed=7)
    graph, _, _ = prepare_graph(job, RESOURCES / "workflows", result.choice)
    dual = graph[by_class(graph, "DualCLIPLoader")[0]]["inputs"]
    assert dual["clip_name1"] == "t5xxl_fp8_e4m3fn.safetensors"
    assert dual["clip_name2"] == "clip_l.safetensors"


@pytest.mark.asyncio
async def test_only_the_fp8_checkpoint_uses_the_single_file_layout(server: Server) -> None:
    server.put("checkpoints", "flux1-dev-fp8.safetensors")
    result = await resolve_models(server, FLUX)
    assert result.state is ModelState.available
    assert result.choice is not None
    assert (result.choice.layout, result.choice.workflow) == (
        "single_file",
        "flux1_dev_single.json",
    )


@pytest.mark.asyncio
async def test_nothing_installed_names_the_fp8_checkpoint(server: Server) -> None:
    result = await resolve_models(server, FLUX)
    assert result.state is ModelState.missing
    assert result.reason == (
        "Model file 'flux1-dev-fp8.safetensors' is missing; put it into ComfyUI/models/checkpoints."
    )


@pytest.mark.asyncio
async def test_a_begun_download_names_the_vae_and_encoders_still_missing(server: Server) -> None:
    server.put("diffusion_models", "flux1-dev.safetensors")
    server.put("text_encoders", "clip_l.safetensors")
    result = await resolve_models(server, FLUX)
    assert result.state is ModelState.missing
    assert [(m.file, m.folder) for m in result.missing] == [
        ("t5xxl_fp16.safetensors", "text_encoders"),
        ("ae.safetensors", "vae"),
    ]
    assert "put it into ComfyUI/models/vae." in result.reason


@pytest.mark.asyncio
async def test_a_cut_off_diffusion_model_is_damaged(server: Server, tmp_path: Path) -> None:
    for folder, name in SEPARATE:
        server.put(folder, name)
    path = server.folders.models / "diffusion_models" / "flux1-dev.safetensors"
    path.write_bytes(path.read_bytes()[:-9])
    local = LocalModels.of_comfyui(tmp_path / "ComfyUI")
    result = await resolve_models(server, FLUX, local)
    assert result.state is ModelState.damaged
    (damaged,) = result.damaged
    assert (damaged.file, damaged.folder, damaged.path) == (
        "flux1-dev.safetensors",
        "diffusion_models",
        str(path),
    )
    assert damaged.check.health is FileHealth.truncated
    assert "ComfyUI/models/diffusion_models is cut off" in result.reason
