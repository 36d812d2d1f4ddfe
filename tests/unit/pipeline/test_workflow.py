"""Workflow templating: mapped values, defaults, coercion, prefixes, output nodes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.content.schema import (
    InputTarget,
    MediaType,
    OutputConfig,
    Route,
    Text,
)
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.workflow import (
    SEED_MAX,
    apply_inputs,
    image_extension,
    is_link,
    iter_links,
    output_nodes,
    set_filename_prefix,
)

RESOURCES = resources_dir()
OUTPUTS = load_content(RESOURCES / "configs").outputs


def template(output_id: str) -> tuple[OutputConfig, dict[str, Any]]:
    output = OUTPUTS[output_id]
    return output, load_workflow(output, RESOURCES / "workflows")


def tiny_output(
    mapping: dict[str, tuple[InputTarget, ...]],
    defaults: dict[str, float | int | str] | None = None,
) -> OutputConfig:
    return OutputConfig(
        id="tiny",
        name=Text("Winzig", "Tiny"),
        description=Text("", ""),
        media=MediaType.image,
        route=Route.comfyui,
        order=1,
        workflow="tiny.json",
        mapping=mapping,
        defaults=defaults or {},
    )


TINY_GRAPH: dict[str, Any] = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "old"}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "old too"}},
    "4": {
        "class_type": "KSampler",
        "inputs": {"model": ["1", 0], "seed": 1, "steps": 20, "cfg": 8.0, "denoise": 1.0},
    },
    "5": {"class_type": "SomeNode", "inputs": {"flag": False, "count": 3, "ratio": 0.5}},
}


# ---------------------------------------------------------------- apply_inputs


def test_real_template_gets_values_and_defaults() -> None:
    output, graph = template("sd15")
    filled = apply_inputs(graph, output, {"prompt": "a red fox in snow", "seed": 1234})
    assert filled["2"]["inputs"]["text"] == "a red fox in snow"
    assert filled["5"]["inputs"]["seed"] == 1234
    # not in values: defaults of the output config
    assert filled["3"]["inputs"]["text"] == output.defaults["negative"]
    assert filled["5"]["inputs"]["steps"] == 25
    assert filled["4"]["inputs"]["width"] == 512
    # links survive untouched
    assert filled["2"]["inputs"]["clip"] == ["1", 1]


def test_one_key_is_written_to_all_its_nodes() -> None:
    output, graph = template("stable_audio")
    assert len(output.mapping["seconds"]) == 2
    filled = apply_inputs(graph, output, {"prompt": "rain", "seconds": 12})
    assert filled["6"]["inputs"]["seconds"] == 12.0
    assert filled["5"]["inputs"]["seconds_total"] == 12.0
    assert isinstance(filled["6"]["inputs"]["seconds"], float)


def test_several_targets_in_custom_mapping() -> None:
    output = tiny_output({"prompt": (InputTarget("2", "text"), InputTarget("3", "text"))})
    filled = apply_inputs(TINY_GRAPH, output, {"prompt": "same text"})
    assert filled["2"]["inputs"]["text"] == filled["3"]["inputs"]["text"] == "same text"


def test_key_without_value_or_default_keeps_template_value() -> None:
    output = tiny_output(
        {"prompt": (InputTarget("2", "text"),), "seed": (InputTarget("4", "seed"),)}
    )
    filled = apply_inputs(TINY_GRAPH, output, {})
    assert filled["2"]["inputs"]["text"] == "old"
    assert filled["4"]["inputs"]["seed"] == 1


def test_values_override_defaults_and_unknown_keys_are_ignored() -> None:
    output = tiny_output({"steps": (InputTarget("4", "steps"),)}, {"steps": 30})
    filled = apply_inputs(TINY_GRAPH, output, {"steps": 9, "lyrics": "not mapped here"})
    assert filled["4"]["inputs"]["steps"] == 9
    assert "lyrics" not in str(filled)


@pytest.mark.parametrize(
    ("key", "target", "value", "expected"),
    [
        ("seed", InputTarget("4", "seed"), "42", 42),
        ("seed", InputTarget("4", "seed"), 42.0, 42),
        ("seed", InputTarget("4", "seed"), SEED_MAX, SEED_MAX),
        ("steps", InputTarget("4", "steps"), " 12 ", 12),
        ("width", InputTarget("4", "steps"), 512.0, 512),
        ("cfg", InputTarget("4", "cfg"), 7, 7.0),
        ("cfg", InputTarget("4", "cfg"), "4.5", 4.5),
        ("seconds", InputTarget("4", "denoise"), 3, 3.0),
        # no name rule: the template's type decides
        ("ratio", InputTarget("5", "ratio"), 2, 2.0),
        ("count", InputTarget("5", "count"), "7", 7),
        ("flag", InputTarget("5", "flag"), True, True),
        ("prompt", InputTarget("2", "text"), 12, "12"),
    ],
)
def test_values_are_coerced_to_the_input_type(
    key: str, target: InputTarget, value: object, expected: object
) -> None:
    filled = apply_inputs(TINY_GRAPH, tiny_output({key: (target,)}), {key: value})
    result = filled[target.node]["inputs"][target.input]
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("key", "target", "value", "words"),
    [
        ("seed", InputTarget("4", "seed"), -1, "between 0 and"),
        ("seed", InputTarget("4", "seed"), SEED_MAX + 1, "between 0 and"),
        ("seed", InputTarget("4", "seed"), "lucky", "whole number"),
        ("steps", InputTarget("4", "steps"), 7.5, "whole number"),
        ("steps", InputTarget("4", "steps"), 0, "at least 1"),
        ("steps", InputTarget("4", "steps"), True, "whole number"),
        ("cfg", InputTarget("4", "cfg"), float("nan"), "must be a number"),
        ("cfg", InputTarget("4", "cfg"), [7], "must be a number"),
        ("prompt", InputTarget("2", "text"), None, "must be a text"),
        ("flag", InputTarget("5", "flag"), "yes", "yes or no"),
    ],
)
def test_unusable_values_raise_config_error(
    key: str, target: InputTarget, value: object, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        apply_inputs(TINY_GRAPH, tiny_output({key: (target,)}), {key: value})
    assert words in caught.value.user_message
    assert f"'{key}'" in caught.value.user_message
    assert "Tiny" in caught.value.user_message


@pytest.mark.parametrize(("node", "input_name"), [("9", "text"), ("2", "txt")])
def test_missing_target_names_output_key_node_and_input(node: str, input_name: str) -> None:
    output = tiny_output({"prompt": (InputTarget("2", "text"), InputTarget(node, input_name))})
    with pytest.raises(ConfigError) as caught:
        apply_inputs(TINY_GRAPH, output, {"prompt": "x"})
    message = caught.value.user_message
    assert "“Tiny”" in message
    assert "'prompt'" in message
    assert f"node '{node}'" in message
    assert f"input '{input_name}'" in message
    assert "output tiny" in caught.value.detail


def test_missing_target_is_an_error_even_without_a_value() -> None:
    output = tiny_output({"lyrics": (InputTarget("2", "lyrics"),)})
    with pytest.raises(ConfigError, match="'lyrics'"):
        apply_inputs(TINY_GRAPH, output, {})


def test_mapping_onto_a_link_is_an_error() -> None:
    output = tiny_output({"prompt": (InputTarget("2", "clip"),)})
    with pytest.raises(ConfigError, match="connection between nodes"):
        apply_inputs(TINY_GRAPH, output, {"prompt": "x"})


@pytest.mark.parametrize("output_id", ["sd15", "sdxl", "sd35_large", "stable_audio", "ace_step"])
def test_template_is_never_mutated(output_id: str) -> None:
    output, graph = template(output_id)
    before = copy.deepcopy(graph)
    values = {"prompt": "p", "negative": "n", "tags": "t", "lyrics": "l", "seed": 5, "steps": 3}
    filled = apply_inputs(graph, output, values)
    prefixed = set_filename_prefix(filled, "run_1")
    assert graph == before
    assert filled != before
    assert prefixed is not filled
    # no shared nested objects: changing the result leaves the template alone
    next(iter(filled.values()))["inputs"]["extra"] = 1
    assert graph == before


# ---------------------------------------------------------------- prefixes, outputs, links


def test_filename_prefix_replaces_name_and_keeps_subfolder() -> None:
    _output, image = template("sd35_large")
    _output, audio = template("stable_audio")
    assert set_filename_prefix(image, "run_ab12")["9"]["inputs"]["filename_prefix"] == "run_ab12"
    assert (
        set_filename_prefix(audio, "run_ab12")["9"]["inputs"]["filename_prefix"] == "audio/run_ab12"
    )
    assert (
        set_filename_prefix(audio, "runs/run_ab12")["9"]["inputs"]["filename_prefix"]
        == "runs/run_ab12"
    )


def test_filename_prefix_reaches_every_saving_node_but_not_previews() -> None:
    graph = {
        "a": {"class_type": "SaveImage", "inputs": {"images": ["c", 0], "filename_prefix": "x"}},
        "b": {"class_type": "SaveAudioMP3", "inputs": {"audio": ["c", 0], "quality": "V0"}},
        "c": {"class_type": "PreviewImage", "inputs": {"images": ["a", 0]}},
    }
    result = set_filename_prefix(graph, "r1")
    assert result["a"]["inputs"]["filename_prefix"] == "r1"
    assert result["b"]["inputs"]["filename_prefix"] == "r1"
    assert "filename_prefix" not in result["c"]["inputs"]


@pytest.mark.parametrize("prefix", ["", "../up", "/abs", "a//b", "a\\b", "sp ace", "a/../b"])
def test_unsafe_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        set_filename_prefix(TINY_GRAPH, prefix)


def test_output_nodes_of_real_templates() -> None:
    assert output_nodes(template("sd15")[1]) == ["7"]
    assert output_nodes(template("ace_step")[1]) == ["8"]
    assert output_nodes(TINY_GRAPH) == []
    assert output_nodes(TINY_GRAPH, output_classes={"SomeNode"}) == ["5"]


def test_links_are_recognised_strictly() -> None:
    assert is_link(["1", 0])
    assert not is_link(["1", True])
    assert not is_link([1, 0])
    assert not is_link(["1", 0, 2])
    assert not is_link("1")
    assert sorted(iter_links(TINY_GRAPH)) == [
        ("2", "clip", "1", 1),
        ("3", "clip", "1", 1),
        ("4", "model", "1", 0),
    ]


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        (b"\x89PNG\r\n\x1a\n....", ".png"),
        (b"\xff\xd8\xff\xe0....", ".jpg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", ".webp"),
        (b"GIF89a..", ".gif"),
        (b"unknown", ".png"),
    ],
)
def test_image_extension_from_magic_bytes(data: bytes, extension: str) -> None:
    assert image_extension(data) == extension
