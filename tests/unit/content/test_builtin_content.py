"""The content we ship: it loads cleanly and is complete, consistent and usable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.content.presets import cpu_preset, seconds_per_picture
from ai4artsed_desktop.content.schema import (
    ContentLibrary,
    DataProtection,
    MediaType,
    OutputConfig,
    Route,
    VideoSpec,
)
from ai4artsed_desktop.errors import ConfigError

from .conftest import BUILTIN_CONFIGS, BUILTIN_WORKFLOWS, RESOURCES

# protocols.md §2.14: the node classes templates may use.
KNOWN_NODE_CLASSES = {
    "CheckpointLoaderSimple",
    "LoraLoader",
    "LoraLoaderModelOnly",
    "CLIPTextEncode",
    "CLIPTextEncodeSD3",
    "CLIPLoader",
    "DualCLIPLoader",
    "TripleCLIPLoader",
    "VAELoader",
    "ModelSamplingSD3",
    "ModelSamplingFlux",
    "FluxGuidance",
    "EmptyLatentImage",
    "EmptySD3LatentImage",
    "KSampler",
    "VAEDecode",
    "SaveImage",
    "PreviewImage",
    "LoadImage",
    "ConditioningZeroOut",
    "EmptyLatentAudio",
    "ConditioningStableAudio",
    "VAEDecodeAudio",
    "SaveAudio",
    "SaveAudioMP3",
    "SaveAudioOpus",
    "PreviewAudio",
    "TextEncodeAceStepAudio",
    "EmptyAceStepLatentAudio",
    "LatentOperationTonemapReinhard",
    "LatentApplyOperationCFG",
    "UNETLoader",
    "Wan22ImageToVideoLatent",
    "CreateVideo",
    "SaveVideo",
}
SAVE_CLASSES = {"SaveImage", "SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "SaveVideo"}
#: The folders our templates' model files live in.
MODEL_FOLDERS = {"checkpoints", "text_encoders", "diffusion_models", "vae"}
#: Where each kind of output saves on the ComfyUI side.
SAVE_PREFIXES = {MediaType.image: "ai4artsed_", MediaType.video: "video/ai4artsed_"}
MODEL_FILE_INPUTS = {"ckpt_name", "clip_name", "clip_name1", "clip_name2", "clip_name3"}
MODEL_FILE_INPUTS |= {"vae_name", "lora_name", "unet_name"}

OUTPUT_IDS = {
    "sd35_large",
    "flux1_dev",
    "sd_turbo",
    "sdxl",
    "sd15",
    "swarmui_t2i",
    "stable_audio",
    "ace_step",
    "p5js",
    "tonejs",
    "cloud_image",
    "wan22_video",
}
REQUIRED_CONFIGS = {
    "your_call",
    "bauhaus",
    "dada",
    "renaissance",
    "technical_drawing",
    "fairy_tale",
    "the_opposite",
    "telephone_game",
    "analog_70s",
    "daguerreotype",
    "de_kitsch",
    "sweetener",
    "youth_slang",
    "p5_listifier",
    "tonejs_composer",
    "lyrics_writer",
}


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_content(BUILTIN_CONFIGS)


def comfy_outputs(library: ContentLibrary) -> list[OutputConfig]:
    return [o for o in library.sorted_outputs() if o.route is Route.comfyui]


def test_builtin_content_loads_without_problems(library: ContentLibrary) -> None:
    assert library.problems == ()
    assert set(library.outputs) == OUTPUT_IDS
    assert set(library.interceptions) >= REQUIRED_CONFIGS
    assert len(library.interceptions) >= 16
    assert all(c.builtin and c.source is not None for c in library.interceptions.values())


def test_user_dir_none_and_missing_user_dir_give_the_same_library(tmp_path: Path) -> None:
    without = load_content(BUILTIN_CONFIGS)
    missing = load_content(BUILTIN_CONFIGS, tmp_path / "does-not-exist")
    assert missing == without


def test_every_interception_has_both_languages(library: ContentLibrary) -> None:
    for config in library.interceptions.values():
        for text in (config.name, config.description):
            assert text.de, config.id
            assert text.en, config.id
        if config.id == "your_call":
            assert config.rules.de == config.rules.en == ""
        else:
            assert config.rules.de, config.id
            assert config.rules.en, config.id
            assert config.rules.de != config.rules.en, config.id


@pytest.mark.parametrize("lang", ["de", "en"])
def test_rules_are_60_to_180_words(library: ContentLibrary, lang: str) -> None:
    for config in library.interceptions.values():
        if config.id == "your_call":
            continue
        words = len(config.rules.get(lang).split())
        assert 60 <= words <= 180, (config.id, lang, words)


def test_rules_address_the_transformation_not_a_persona(library: ContentLibrary) -> None:
    banned = ("you are an assistant", "as an ai", "du bist ein assistent", "als ki ")
    for config in library.interceptions.values():
        for lang in ("de", "en"):
            lowered = config.rules.get(lang).lower()
            assert not any(phrase in lowered for phrase in banned), config.id


def test_your_call_is_the_first_and_open_to_every_output(library: ContentLibrary) -> None:
    first = library.sorted_interceptions()[0]
    assert first.id == "your_call"
    assert first.order == 0
    assert first.outputs == ()
    assert all(first.supports(output_id) for output_id in library.outputs)


def test_interception_outputs_exist_and_include_the_default(library: ContentLibrary) -> None:
    for config in library.interceptions.values():
        assert config.default_output in library.outputs, config.id
        assert config.supports(config.default_output), config.id
        assert set(config.outputs) <= set(library.outputs), config.id
        assert config.category in library.categories, config.id


def test_special_configs_point_at_their_outputs(library: ContentLibrary) -> None:
    expected = {"p5_listifier": "p5js", "tonejs_composer": "tonejs", "lyrics_writer": "ace_step"}
    for config_id, output_id in expected.items():
        config = library.interceptions[config_id]
        assert config.outputs == (output_id,)
        assert config.default_output == output_id


def test_llm_parameters_differ_between_configs(library: ContentLibrary) -> None:
    params = {c.llm for c in library.interceptions.values()}
    assert len(params) >= 10
    dada = library.interceptions["dada"].llm
    technical = library.interceptions["technical_drawing"].llm
    assert dada.temperature > 1.0 > technical.temperature


def test_categories_are_used_and_have_both_languages(library: ContentLibrary) -> None:
    assert len(library.categories) >= 5
    used = {c.category for c in library.interceptions.values()}
    assert used == set(library.categories)
    for category in library.categories.values():
        assert category.name.de
        assert category.name.en


def test_every_config_has_its_own_valid_svg_icon(library: ContentLibrary) -> None:
    icons_dir = RESOURCES / "icons" / "configs"
    seen: dict[bytes, str] = {}
    for config in library.interceptions.values():
        path = icons_dir / config.icon
        assert path.is_file(), config.icon
        data = path.read_bytes()
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("viewBox") == "0 0 64 64"
        assert data not in seen, (config.id, seen.get(data))
        seen[data] = config.id


def test_templates_use_only_documented_node_classes(library: ContentLibrary) -> None:
    for output in comfy_outputs(library):
        graph = load_workflow(output, BUILTIN_WORKFLOWS)
        classes = {node["class_type"] for node in graph.values()}
        assert classes <= KNOWN_NODE_CLASSES, (output.id, classes - KNOWN_NODE_CLASSES)
        assert classes & SAVE_CLASSES, output.id


def test_mapping_targets_exist_in_templates(library: ContentLibrary) -> None:
    for output in comfy_outputs(library):
        graph = load_workflow(output, BUILTIN_WORKFLOWS)
        assert output.mapping, output.id
        for key, targets in output.mapping.items():
            for target in targets:
                assert target.input in graph[target.node]["inputs"], (output.id, key)


def test_required_models_list_every_model_file_of_the_template(library: ContentLibrary) -> None:
    for output in comfy_outputs(library):
        graph = load_workflow(output, BUILTIN_WORKFLOWS)
        named = {
            (node["class_type"], name, value)
            for node in graph.values()
            for name, value in node["inputs"].items()
            if name in MODEL_FILE_INPUTS
        }
        listed = {(m.node_class, m.input, m.file) for m in output.required_models}
        assert named == listed, output.id
        assert all(m.folder in MODEL_FOLDERS for m in output.required_models)


def test_save_nodes_use_our_file_prefixes(library: ContentLibrary) -> None:
    for output in comfy_outputs(library):
        graph = load_workflow(output, BUILTIN_WORKFLOWS)
        prefixes = [
            n["inputs"]["filename_prefix"] for n in graph.values() if "Save" in n["class_type"]
        ]
        expected = SAVE_PREFIXES.get(output.media, "audio/ai4artsed_")
        assert prefixes, output.id
        assert all(p.startswith(expected) for p in prefixes), output.id


def test_mapping_keys_per_media(library: ContentLibrary) -> None:
    image_keys = {"prompt", "negative", "seed", "steps", "cfg", "width", "height"}
    for output_id in ("sd35_large", "sdxl", "sd15"):
        assert set(library.outputs[output_id].mapping) == image_keys
    assert {"prompt", "seed", "steps", "cfg", "seconds"} <= set(
        library.outputs["stable_audio"].mapping
    )
    assert {"tags", "lyrics", "seed", "steps", "seconds"} <= set(
        library.outputs["ace_step"].mapping
    )


def test_stable_audio_seconds_reach_latent_and_conditioning(library: ContentLibrary) -> None:
    output = library.outputs["stable_audio"]
    graph = load_workflow(output, BUILTIN_WORKFLOWS)
    targets = {(graph[t.node]["class_type"], t.input) for t in output.mapping["seconds"]}
    assert targets == {
        ("EmptyLatentAudio", "seconds"),
        ("ConditioningStableAudio", "seconds_total"),
    }


def test_sd35_uses_sd3_latent_and_triple_clip(library: ContentLibrary) -> None:
    graph = load_workflow(library.outputs["sd35_large"], BUILTIN_WORKFLOWS)
    classes = [node["class_type"] for node in graph.values()]
    assert "EmptySD3LatentImage" in classes
    assert "EmptyLatentImage" not in classes
    assert {"TripleCLIPLoader", "ModelSamplingSD3"} <= set(classes)


def test_defaults_cover_every_tunable_mapping_key(library: ContentLibrary) -> None:
    per_run = {"prompt", "tags", "lyrics", "seed"}
    for output in comfy_outputs(library):
        derived = {"frames"} if output.video is not None else set()  # from seconds and fps
        assert set(output.mapping) - per_run - derived <= set(output.defaults), output.id
        if output.video is not None:
            assert {"seconds", "fps"} <= set(output.defaults), output.id


def test_image_outputs_want_english_and_have_adaptations(library: ContentLibrary) -> None:
    for output_id in ("sd35_large", "flux1_dev", "sdxl", "sd15", "swarmui_t2i"):
        output = library.outputs[output_id]
        assert output.media is MediaType.image
        assert output.needs_english
        assert output.adaptation is not None
        assert output.adaptation_role == "adaptation"
    sd15 = library.outputs["sd15"].adaptation
    sd35 = library.outputs["sd35_large"].adaptation
    assert sd15 is not None
    assert sd35 is not None
    assert len(sd15.en) < len(sd35.en)


def test_code_outputs_define_the_sandbox_contract(library: ContentLibrary) -> None:
    p5 = library.outputs["p5js"]
    tone = library.outputs["tonejs"]
    for output, framework in ((p5, "p5"), (tone, "tone")):
        assert output.route is Route.code
        assert output.media is MediaType.code
        assert output.framework == framework
        assert output.adaptation_role == "code"
        assert output.adaptation is not None
        for lang in ("de", "en"):
            text = output.adaptation.get(lang)
            assert "Markdown" in text
    assert p5.adaptation is not None
    assert tone.adaptation is not None
    for lang in ("de", "en"):
        p5_text = p5.adaptation.get(lang)
        assert "preload()" in p5_text
        assert "createCanvas(400, 400)" in p5_text
        assert "p5.js 2" in p5_text or "Version 2" in p5_text or "version 2" in p5_text
        tone_text = tone.adaptation.get(lang)
        assert "async function play()" in tone_text
        assert "function stop()" in tone_text
        assert "Tone.start()" in tone_text
        assert "Tone.js" in tone_text
        assert "15" in tone_text


def test_ace_step_adaptation_defines_the_answer_format(library: ContentLibrary) -> None:
    output = library.outputs["ace_step"]
    assert output.media is MediaType.music
    assert output.adaptation is not None
    for lang in ("de", "en"):
        text = output.adaptation.get(lang)
        assert "TAGS:" in text
        assert "[verse]" in text
        assert "[chorus]" in text


def test_routes_and_switches_of_special_outputs(library: ContentLibrary) -> None:
    swarm = library.outputs["swarmui_t2i"]
    assert swarm.route is Route.swarmui_t2i
    assert swarm.engine_options == {"model": "OfficialStableDiffusion/sd3.5_large"}
    cloud = library.outputs["cloud_image"]
    assert cloud.route is Route.cloud_image
    assert cloud.data_protection is DataProtection.non_eu
    assert not cloud.enabled
    assert cloud.engine_options == {"provider": "openai", "model": "gpt-image-1"}
    video = library.outputs["wan22_video"]
    assert (video.media, video.route, video.enabled) == (MediaType.video, Route.comfyui, True)
    assert video.video == VideoSpec(frame_step=4, max_frames=121)
    assert library.outputs["stable_audio"].media is MediaType.audio
    local = [o for o in library.outputs.values() if o.id != "cloud_image"]
    assert all(o.data_protection is DataProtection.local for o in local)


def test_providers_and_roles(library: ContentLibrary) -> None:
    providers = library.providers
    assert providers["ollama"].local
    assert providers["ollama"].data_protection is DataProtection.local
    assert providers["mistral"].data_protection is DataProtection.eu
    for name in ("openrouter", "openai"):
        assert providers[name].data_protection is DataProtection.non_eu
        assert not providers[name].local
    roles = library.roles
    assert set(roles) == {"interception", "adaptation", "code", "translation", "safety", "vision"}
    assert {r.id for r in roles.values() if r.local_only} == {"safety", "vision"}


def test_vram_presets_fit_their_tier(library: ContentLibrary) -> None:
    presets = library.presets
    assert sorted(presets) == [0, 8, 16, 24, 32, 48, 96]
    knobs = {
        "train_batch_size",
        "gradient_checkpointing",
        "mixed_precision",
        "cache_latents_to_disk",
        "max_data_loader_n_workers",
        "network_dim",
        "max_train_epochs",
        "save_every_n_epochs",
        "blocks_to_swap",
    }
    for tier, preset in presets.items():
        assert set(preset.roles) == set(library.roles), tier
        assert all(ref.startswith("ollama/") for ref in preset.roles.values()), tier
        assert knobs <= set(preset.training), tier
        for output_id in preset.outputs:
            output = library.outputs[output_id]
            assert output.vram_gb <= tier, (tier, output_id)
    assert "sd15" in presets[8].outputs
    assert "sdxl" not in presets[8].outputs
    assert "sdxl" in presets[16].outputs
    assert "sd35_large" not in presets[16].outputs
    assert all("sd35_large" in presets[t].outputs for t in (24, 32, 48, 96))
    small, large = presets[8].training["train_batch_size"], presets[96].training["train_batch_size"]
    assert isinstance(small, int)
    assert isinstance(large, int)
    assert small < large


def test_the_cpu_preset_runs_without_an_nvidia_card(library: ContentLibrary) -> None:
    preset = cpu_preset(library.presets)
    assert preset is not None
    assert preset.cpu_only
    assert not any(p.cpu_only for p in library.presets.values() if p is not preset)
    images = [
        library.outputs[o] for o in preset.outputs if library.outputs[o].media.value == "image"
    ]
    assert [o.id for o in images if o.route.value == "comfyui"] == ["sd_turbo"]
    turbo = library.outputs["sd_turbo"]
    assert turbo.defaults["steps"] == 1
    assert (turbo.defaults["width"], turbo.defaults["height"]) == (512, 512)
    assert not {"sd15", "sdxl", "sd35_large", "stable_audio", "ace_step"} & set(preset.outputs)
    # fp16 autocast and 8-bit AdamW (bitsandbytes) need CUDA
    assert preset.training["mixed_precision"] == "no"
    assert preset.training["optimizer_type"] == "AdamW"
    # the smallest text models of all presets (parameter counts in the Ollama tags)
    eight = library.presets[8]
    for role, model in preset.roles.items():
        assert _billions(model) <= _billions(eight.roles[role]), role
    # measured by benchmarks/cpu_image.py and shown to the teacher
    assert seconds_per_picture(library, preset) == turbo.estimated_seconds > 1


def _billions(model: str) -> float:
    return float(model.rsplit(":", 1)[1].rstrip("b"))


def test_estimates_are_plausible(library: ContentLibrary) -> None:
    for output in library.outputs.values():
        assert 1 <= output.estimated_seconds <= 600, output.id
    assert library.outputs["sd15"].vram_gb < library.outputs["sdxl"].vram_gb
    assert library.outputs["sdxl"].vram_gb < library.outputs["sd35_large"].vram_gb


def test_load_workflow_returns_an_independent_deep_copy(library: ContentLibrary) -> None:
    output = library.outputs["sd35_large"]
    first = load_workflow(output, BUILTIN_WORKFLOWS)
    second = load_workflow(output, BUILTIN_WORKFLOWS)
    assert first == second
    first["4"]["inputs"]["text"] = "changed"
    first["7"]["inputs"]["model"][0] = "99"
    del first["9"]
    third = load_workflow(output, BUILTIN_WORKFLOWS)
    assert third == second
    assert third["4"]["inputs"]["text"] == ""
    assert third["7"]["inputs"]["model"] == ["3", 0]


@pytest.mark.parametrize("output_id", ["p5js", "swarmui_t2i", "cloud_image"])
def test_load_workflow_refuses_outputs_without_a_template(
    library: ContentLibrary, output_id: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_workflow(library.outputs[output_id], BUILTIN_WORKFLOWS)
    assert output_id in info.value.detail


def test_load_workflow_reports_a_missing_template(library: ContentLibrary, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_workflow(library.outputs["sdxl"], tmp_path)
    assert "sdxl.json" in info.value.detail
    assert "does not exist" in info.value.detail
    assert info.value.user_message
