"""LoRA injection on real templates and random graphs, and trigger words."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.content.schema import LoraRef
from ai4artsed_desktop.content.workflows import check_graph
from ai4artsed_desktop.errors import AppError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.lora import (
    AppliedLora,
    LoraError,
    LoraSpec,
    add_trigger_words,
    find_targets,
    inject_loras,
)
from ai4artsed_desktop.pipeline.workflow import iter_links

RESOURCES = resources_dir()
OUTPUTS = load_content(RESOURCES / "configs").outputs
STYLE = LoraSpec("style.safetensors", 0.8, 0.6, "st_yle")


def template(output_id: str) -> dict[str, Any]:
    return load_workflow(OUTPUTS[output_id], RESOURCES / "workflows")


def links_to(graph: dict[str, Any], node: str, index: int) -> set[tuple[str, str]]:
    """(consumer node, input name) of every link pointing at ``node`` output ``index``."""
    return {(n, name) for n, name, src, i in iter_links(graph) if (src, i) == (node, index)}


# ---------------------------------------------------------------- real templates


def test_sd35_triple_clip_model_and_clip_consumers_rewired() -> None:
    graph = template("sd35_large")
    result = inject_loras(graph, [STYLE])
    new = result.graph
    (applied,) = result.applied
    assert applied == AppliedLora("style.safetensors", 0.8, 0.6, "10", model_only=False)
    assert new["10"]["class_type"] == "LoraLoader"
    assert new["10"]["inputs"] == {
        "model": ["1", 0],
        "clip": ["2", 0],
        "lora_name": "style.safetensors",
        "strength_model": 0.8,
        "strength_clip": 0.6,
    }
    assert new["3"]["inputs"]["model"] == ["10", 0]
    assert new["4"]["inputs"]["clip"] == ["10", 1]
    assert new["5"]["inputs"]["clip"] == ["10", 1]
    assert links_to(new, "1", 0) == {("10", "model")}
    assert links_to(new, "2", 0) == {("10", "clip")}
    assert new["8"]["inputs"]["vae"] == ["1", 2]  # VAE untouched
    assert result.model_sources == (("1", 0),)
    assert result.clip_sources == (("2", 0),)
    check_graph(new)


@pytest.mark.parametrize("output_id", ["sd15", "sdxl"])
def test_checkpoint_clip_is_patched_for_sd15_and_sdxl(output_id: str) -> None:
    result = inject_loras(template(output_id), [STYLE])
    new = result.graph
    assert new["8"]["inputs"]["model"] == ["1", 0]
    assert new["8"]["inputs"]["clip"] == ["1", 1]
    assert new["5"]["inputs"]["model"] == ["8", 0]
    assert new["2"]["inputs"]["clip"] == new["3"]["inputs"]["clip"] == ["8", 1]
    assert links_to(new, "1", 0) == {("8", "model")}
    assert links_to(new, "1", 1) == {("8", "clip")}
    assert result.clip_sources == (("1", 1),)


def test_ace_step_uses_the_checkpoint_clip() -> None:
    result = inject_loras(template("ace_step"), [STYLE])
    new = result.graph
    assert new["9"]["class_type"] == "LoraLoader"
    assert new["2"]["inputs"]["model"] == ["9", 0]  # ModelSamplingSD3 sees the LoRA
    assert new["3"]["inputs"]["clip"] == ["9", 1]  # TextEncodeAceStepAudio
    assert result.clip_sources == (("1", 1),)


def test_stable_audio_patches_the_separate_clip_loader() -> None:
    result = inject_loras(template("stable_audio"), [STYLE])
    new = result.graph
    assert new["10"]["inputs"]["clip"] == ["2", 0]
    assert new["7"]["inputs"]["model"] == ["10", 0]
    assert new["3"]["inputs"]["clip"] == new["4"]["inputs"]["clip"] == ["10", 1]


def test_several_loras_are_chained_in_order() -> None:
    loras = [
        LoraSpec("a.safetensors", 1.0, 0.9),
        LoraSpec("b.safetensors", 0.5, 0.4),
        LoraSpec("c.safetensors", 0.2, 0.1),
    ]
    result = inject_loras(template("sd35_large"), loras)
    new = result.graph
    assert [a.file for a in result.applied] == ["a.safetensors", "b.safetensors", "c.safetensors"]
    assert [a.node_id for a in result.applied] == ["10", "11", "12"]
    assert new["10"]["inputs"]["model"] == ["1", 0]
    assert new["11"]["inputs"]["model"] == ["10", 0]
    assert new["11"]["inputs"]["clip"] == ["10", 1]
    assert new["12"]["inputs"]["model"] == ["11", 0]
    assert new["12"]["inputs"]["clip"] == ["11", 1]
    assert new["3"]["inputs"]["model"] == ["12", 0]
    assert new["4"]["inputs"]["clip"] == new["5"]["inputs"]["clip"] == ["12", 1]
    assert len(new) == len(template("sd35_large")) + 3


def test_model_only_lora_in_a_chain_keeps_the_clip_path_intact() -> None:
    loras = [LoraSpec("full.safetensors"), LoraSpec("unet.safetensors", 0.7, model_only=True)]
    result = inject_loras(template("sdxl"), loras)
    new = result.graph
    assert new["9"]["class_type"] == "LoraLoaderModelOnly"
    assert new["9"]["inputs"] == {
        "model": ["8", 0],
        "lora_name": "unet.safetensors",
        "strength_model": 0.7,
    }
    assert new["5"]["inputs"]["model"] == ["9", 0]
    assert new["2"]["inputs"]["clip"] == ["8", 1]
    assert result.applied[1] == AppliedLora("unet.safetensors", 0.7, 0.0, "9", model_only=True)


def test_from_ref_uses_one_strength_for_both_paths() -> None:
    spec = LoraSpec.from_ref(LoraRef("x.safetensors", 0.45, "xyz"))
    assert spec == LoraSpec("x.safetensors", 0.45, 0.45, "xyz", model_only=False)


def test_template_is_not_mutated_and_no_loras_copies() -> None:
    graph = template("sd15")
    before = copy.deepcopy(graph)
    inject_loras(graph, [STYLE, STYLE])
    assert graph == before
    empty = inject_loras(graph, [])
    assert empty.graph == before
    assert empty.graph is not graph
    assert empty.applied == ()


# ---------------------------------------------------------------- other graph shapes


def unet_only_graph() -> dict[str, Any]:
    """Image-to-video with a diffusion model, no text encoder at all (no CLIP path)."""
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "svd.safetensors"}},
        "2": {"class_type": "CLIPVisionLoader", "inputs": {"clip_name": "vit.safetensors"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "svd_vae.safetensors"}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
        "5": {
            "class_type": "SVD_img2vid_Conditioning",
            "inputs": {"clip_vision": ["2", 0], "init_image": ["4", 0], "vae": ["3", 0]},
        },
        "6": {"class_type": "VideoLinearCFGGuidance", "inputs": {"model": ["1", 0]}},
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["6", 0],
                "positive": ["5", 0],
                "negative": ["5", 1],
                "latent_image": ["5", 2],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["3", 0]}},
        "9": {"class_type": "SaveAnimatedWEBP", "inputs": {"images": ["8", 0]}},
    }


def test_unet_only_graph_gets_model_only_loaders() -> None:
    result = inject_loras(unet_only_graph(), [STYLE, LoraSpec("b.safetensors", 0.3)])
    new = result.graph
    assert [a.model_only for a in result.applied] == [True, True]
    assert [new[a.node_id]["class_type"] for a in result.applied] == ["LoraLoaderModelOnly"] * 2
    assert new["10"]["inputs"]["model"] == ["1", 0]
    assert new["11"]["inputs"]["model"] == ["10", 0]
    assert new["6"]["inputs"]["model"] == ["11", 0]
    assert "clip" not in new["10"]["inputs"]
    assert result.clip_sources == ()
    check_graph(new)


def flux_like_graph() -> dict[str, Any]:
    """Non-numeric ids, a UNET with a DualCLIPLoader and a CLIPSetLastLayer in between."""
    return {
        "unet": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux.safetensors"}},
        "clips": {"class_type": "DualCLIPLoader", "inputs": {"type": "flux"}},
        "skip": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["clips", 0]}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["skip", 0], "text": "x"}},
        "9:4": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["skip", 0], "text": ""}},
        "lat": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 64, "height": 64}},
        "sampler": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["unet", 0],
                "positive": ["pos", 0],
                "negative": ["9:4", 0],
                "latent_image": ["lat", 0],
            },
        },
        "vae": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "dec": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["sampler", 0], "vae": ["vae", 0]},
        },
        "save": {"class_type": "SaveImage", "inputs": {"images": ["dec", 0]}},
    }


def test_non_numeric_ids_and_clip_pass_through() -> None:
    result = inject_loras(flux_like_graph(), [STYLE, STYLE])
    new = result.graph
    assert [a.node_id for a in result.applied] == ["1", "2"]
    assert new["1"]["inputs"]["clip"] == ["clips", 0]  # before CLIPSetLastLayer
    assert new["skip"]["inputs"]["clip"] == ["2", 1]
    assert new["sampler"]["inputs"]["model"] == ["2", 0]
    assert links_to(new, "clips", 0) == {("1", "clip")}
    check_graph(new)


def test_new_ids_never_collide() -> None:
    graph = flux_like_graph()
    for node_id in ("1", "2", "011", "4", "12:1"):
        graph[node_id] = {"class_type": "PrimitiveNode", "inputs": {}}
    result = inject_loras(graph, [STYLE, STYLE, STYLE])
    ids = [a.node_id for a in result.applied]
    assert ids == ["12", "13", "14"]  # above the largest numeric id (011 -> 11)
    assert not set(ids) & set(graph)
    assert len(result.graph) == len(graph) + 3


def test_refiner_checkpoint_is_left_alone() -> None:
    graph = template("sdxl")
    graph["20"] = {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"},
    }
    graph["21"] = {"class_type": "CLIPTextEncode", "inputs": {"clip": ["20", 1], "text": "x"}}
    graph["22"] = {
        "class_type": "KSampler",
        "inputs": {
            "model": ["20", 0],
            "positive": ["21", 0],
            "negative": ["21", 0],
            "latent_image": ["5", 0],
        },
    }
    graph["6"]["inputs"]["samples"] = ["22", 0]
    result = inject_loras(graph, [STYLE])
    assert result.model_sources == (("1", 0),)
    assert result.graph["22"]["inputs"]["model"] == ["20", 0]
    assert result.graph["21"]["inputs"]["clip"] == ["20", 1]
    assert result.graph["5"]["inputs"]["model"] == ["23", 0]


def test_two_independent_branches_get_one_chain_each() -> None:
    graph = template("sd15")
    second = {f"b{k}": copy.deepcopy(v) for k, v in template("sdxl").items()}
    for node in second.values():
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                node["inputs"][name] = ["b" + value[0], value[1]]
    graph.update(second)
    result = inject_loras(graph, [STYLE])
    assert result.model_sources == (("1", 0), ("b1", 0))
    assert len(result.applied) == 2
    assert links_to(result.graph, "b1", 1) == {(result.applied[1].node_id, "clip")}


def test_shared_clip_is_patched_once() -> None:
    graph = template("sd35_large")
    graph["20"] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "m.sft"}}
    graph["21"] = copy.deepcopy(graph["7"])
    graph["21"]["inputs"]["model"] = ["20", 0]
    graph["22"] = {"class_type": "VAEDecode", "inputs": {"samples": ["21", 0], "vae": ["20", 2]}}
    graph["23"] = {"class_type": "SaveImage", "inputs": {"images": ["22", 0]}}
    result = inject_loras(graph, [STYLE])
    assert [a.model_only for a in result.applied] == [False, True]
    assert result.clip_sources == (("2", 0),)


@pytest.mark.parametrize(
    "graph",
    [
        {"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
         "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}},
        {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a"}}},
    ],
)  # fmt: skip
def test_no_model_source_is_an_error_naming_the_lora(graph: dict[str, Any]) -> None:
    with pytest.raises(LoraError) as caught:
        inject_loras(graph, [LoraSpec("kitsch.safetensors")])
    assert isinstance(caught.value, AppError)
    assert "“kitsch.safetensors” cannot be used with this output" in caught.value.user_message


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (LoraSpec(""), "has no file name"),
        (LoraSpec("a.sft", 101.0), "outside -100 to 100"),
        (LoraSpec("a.sft", 1.0, float("nan")), "outside -100 to 100"),
    ],
)
def test_unusable_specs_are_errors(spec: LoraSpec, words: str) -> None:
    with pytest.raises(LoraError, match=words):
        inject_loras(template("sd15"), [spec])


# ---------------------------------------------------------------- property: random graphs

_IDS = st.one_of(
    st.integers(min_value=0, max_value=300).map(str),
    st.from_regex(r"[a-z]{1,6}(:[0-9]{1,2})?", fullmatch=True),
)


@st.composite
def api_graphs(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str, int], tuple[str, int] | None]:
    """A valid API graph with one model source; returns it, the model and the CLIP output."""
    ids = iter(draw(st.lists(_IDS, min_size=40, max_size=40, unique=True)))
    graph: dict[str, Any] = {}

    def add(class_type: str, **inputs: Any) -> str:
        node_id = next(ids)
        graph[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id

    kind = draw(st.sampled_from(["checkpoint", "separate_clip", "unet_clip", "unet_only"]))
    if kind in ("checkpoint", "separate_clip"):
        ckpt = add("CheckpointLoaderSimple", ckpt_name="m.safetensors")
        model, vae = (ckpt, 0), (ckpt, 2)
        clip: tuple[str, int] | None = (ckpt, 1)
    else:
        model = (add("UNETLoader", unet_name="u.safetensors"), 0)
        vae = (add("VAELoader", vae_name="v.safetensors"), 0)
        clip = None
    if kind in ("separate_clip", "unet_clip"):
        loader = draw(st.sampled_from(["CLIPLoader", "DualCLIPLoader", "TripleCLIPLoader"]))
        clip = (add(loader, clip_name="c.safetensors"), 0)
    encoders: list[str] = []
    if clip is not None:
        clip_in = clip
        if draw(st.booleans()):
            clip_in = (add("CLIPSetLastLayer", clip=list(clip), stop_at_clip_layer=-2), 0)
        encoders = [
            add("CLIPTextEncode", clip=list(clip_in if draw(st.booleans()) else clip), text="t")
            for _ in range(draw(st.integers(1, 3)))
        ]
    else:
        encoders = [add("ConditioningFromImage", image="i.png")]
    latent = add("EmptyLatentImage", width=64, height=64, batch_size=1)
    samples = latent
    for _ in range(draw(st.integers(1, 3))):
        model_in = model
        for _ in range(draw(st.integers(0, 2))):
            patch = draw(st.sampled_from(["ModelSamplingSD3", "ModelSamplingDiscrete"]))
            model_in = (add(patch, model=list(model_in), shift=3.0), 0)
        samples = add(
            "KSampler",
            model=list(model_in),
            positive=[draw(st.sampled_from(encoders)), 0],
            negative=[draw(st.sampled_from(encoders)), 0],
            latent_image=[samples if draw(st.booleans()) else latent, 0],
            seed=1,
        )
        decoded = add("VAEDecode", samples=[samples, 0], vae=list(vae))
        add("SaveImage", images=[decoded, 0], filename_prefix="p")
    # consumers that feed no output still count as consumers
    if draw(st.booleans()):
        add("ModelSamplingSD3", model=list(model), shift=1.0)
    if clip is not None and draw(st.booleans()):
        add("CLIPTextEncode", clip=list(clip), text="unused")
    order = draw(st.permutations(list(graph)))
    return {node_id: graph[node_id] for node_id in order}, model, clip


_SPECS = st.lists(
    st.builds(
        LoraSpec,
        file=st.from_regex(r"[a-z]{1,8}\.safetensors", fullmatch=True),
        strength_model=st.floats(-2, 2),
        strength_clip=st.floats(-2, 2),
        model_only=st.booleans(),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(case=api_graphs(), loras=_SPECS)
def test_every_consumer_is_rewired_in_random_graphs(
    case: tuple[dict[str, Any], tuple[str, int], tuple[str, int] | None], loras: list[LoraSpec]
) -> None:
    graph, model, clip = case
    before = copy.deepcopy(graph)
    result = inject_loras(graph, loras)
    new = result.graph
    assert graph == before
    assert len(new) == len(graph) + len(loras)
    check_graph(new)  # every link points at an existing node
    for node_id, _name, source, _index in iter_links(new):
        assert source in new
        assert source != node_id
    applied = result.applied
    assert [a.file for a in applied] == [spec.file for spec in loras]
    assert result.model_sources == (model,)
    model_users = links_to(new, *model)
    assert model_users == {(applied[0].node_id, "model")}
    full = [a for a in applied if not a.model_only]
    if clip is None:
        assert not full
    else:
        clip_users = links_to(new, *clip)
        if full:
            assert clip_users == {(full[0].node_id, "clip")}
            # every former CLIP consumer now reads the last full loader's CLIP
            for consumer, name in links_to(before, *clip):
                assert new[consumer]["inputs"][name] == [full[-1].node_id, 1]
        else:
            assert clip_users == links_to(before, *clip)
    for consumer, name in links_to(before, *model):
        assert new[consumer]["inputs"][name] == [applied[-1].node_id, 0]
    for spec, lora in zip(loras, applied, strict=True):
        assert lora.model_only == (spec.model_only or clip is None)
        assert new[lora.node_id]["class_type"] == (
            "LoraLoaderModelOnly" if lora.model_only else "LoraLoader"
        )
    assert find_targets(before) == [(model, clip)]


# ---------------------------------------------------------------- trigger words


def test_trigger_words_are_added_once_in_front() -> None:
    loras = [LoraSpec("a", trigger="ohwx"), LoraSpec("b", trigger="Bauhaus Style")]
    assert add_trigger_words("a chair", loras) == "ohwx, Bauhaus Style, a chair"


def test_present_trigger_words_are_not_repeated() -> None:
    loras = [LoraSpec("a", trigger="ohwx"), LoraSpec("b", trigger="bauhaus  style")]
    prompt = "OHWX chair in BAUHAUS style"
    assert add_trigger_words(prompt, loras) == prompt


def test_trigger_words_match_whole_words_only() -> None:
    loras = [LoraSpec("a", trigger="ohwx")]
    assert add_trigger_words("ohwxyz sofa", loras) == "ohwx, ohwxyz sofa"


def test_shared_or_empty_triggers_and_refs() -> None:
    loras = [LoraRef("a", trigger="zine"), LoraRef("b", trigger="ZINE"), LoraRef("c")]
    assert add_trigger_words("", loras) == "zine"
    assert add_trigger_words("  ", [LoraRef("c")]) == "  "
    assert add_trigger_words("collage", []) == "collage"
