"""Broken content files are skipped with a problem naming file and field; the rest loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary, ContentProblem

from .conftest import read_json, write_json

Edit = Callable[[dict[str, Any]], None]


def only_problem(library: ContentLibrary) -> ContentProblem:
    assert len(library.problems) == 1, library.problems
    return library.problems[0]


def edit_file(path: Path, edit: Edit) -> None:
    data = read_json(path)
    edit(data)
    write_json(path, data)


def baseline(configs: Path) -> ContentLibrary:
    library = load_content(configs)
    assert library.problems == ()
    return library


def set_at(dotted: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = dotted.split(".")
        target = data
        for key in parents:
            target = target[key]
        target[last] = value

    return edit


def delete(key: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        del data[key]

    return edit


INTERCEPTION_CASES = [
    pytest.param(delete("category"), "category", "missing", id="missing-field"),
    pytest.param(delete("name"), "name", "missing", id="missing-text"),
    pytest.param(set_at("llm.temperature", "hot"), "llm.temperature", "number", id="wrong-type"),
    pytest.param(set_at("llm.temperature", 2.5), "llm.temperature", "0 to 2", id="too-hot"),
    pytest.param(set_at("llm.top_p", -0.1), "llm.top_p", "0 to 1", id="top-p-range"),
    pytest.param(set_at("llm.max_tokens", 9000), "llm.max_tokens", "8192", id="max-tokens"),
    pytest.param(set_at("llm.max_tokens", 12.5), "llm.max_tokens", "whole", id="max-tokens-float"),
    pytest.param(set_at("llm", [1, 2]), "llm", "object", id="llm-not-object"),
    pytest.param(set_at("order", True), "order", "whole number", id="bool-is-not-number"),
    pytest.param(set_at("name.en", ""), "name.en", "empty", id="empty-en"),
    pytest.param(set_at("description.de", "   "), "description.de", "empty", id="blank-de"),
    pytest.param(set_at("name", {"de": "Nur deutsch"}), "name.en", "missing", id="no-en"),
    pytest.param(set_at("name", "Bauhaus"), "name", "'de' and 'en'", id="text-not-object"),
    pytest.param(set_at("rules.en", ""), "rules.en", "empty", id="rules-one-language"),
    pytest.param(set_at("category", "sculpture"), "category", "no category", id="unknown-cat"),
    pytest.param(set_at("outputs", ["sdxl", "nope"]), "outputs[1]", "no output", id="unknown-out"),
    pytest.param(set_at("outputs", ["sdxl", "sdxl"]), "outputs[1]", "twice", id="dup-output"),
    pytest.param(set_at("default_output", "gone"), "default_output", "no output", id="unknown-def"),
    pytest.param(
        set_at("default_output", "p5js"),
        "default_output",
        "one of 'outputs'",
        id="default-not-listed",
    ),
    pytest.param(set_at("id", "Bau Haus"), "id", "not allowed", id="bad-id"),
    pytest.param(set_at("id", "x" * 65), "id", "not allowed", id="long-id"),
    pytest.param(set_at("icon", "../x.svg"), "icon", "not allowed", id="icon-path"),
    pytest.param(
        set_at("loras", [{"file": "../../etc/x.safetensors"}]),
        "loras[0].file",
        "not allowed",
        id="lora-path",
    ),
    pytest.param(
        set_at("loras", [{"file": "style.safetensors", "strength": 7}]),
        "loras[0].strength",
        "-5 to 5",
        id="lora-strength",
    ),
    pytest.param(set_at("loras", [{"strength": 1}]), "loras[0].file", "missing", id="lora-file"),
    pytest.param(set_at("audience.min_age", 120), "audience.min_age", "0 to 99", id="min-age"),
    pytest.param(
        set_at("audience.safety_levels", ["toddlers"]),
        "audience.safety_levels[0]",
        "one of kids",
        id="bad-level",
    ),
    pytest.param(
        set_at("audience.safety_levels", []), "audience.safety_levels", "empty", id="no-levels"
    ),
]


@pytest.mark.parametrize(("edit", "field", "words"), INTERCEPTION_CASES)
def test_broken_interception_is_skipped_and_named(
    configs_copy: Path, edit: Edit, field: str, words: str
) -> None:
    before = baseline(configs_copy)
    edit_file(configs_copy / "interception" / "bauhaus.json", edit)
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert problem.file == "interception/bauhaus.json"
    assert problem.field == field
    assert words in problem.problem
    assert problem.problem.endswith(".")
    assert "bauhaus" not in library.interceptions
    assert set(library.interceptions) == set(before.interceptions) - {"bauhaus"}
    assert library.outputs == before.outputs


def test_empty_rules_in_both_languages_are_allowed(configs_copy: Path) -> None:
    edit_file(configs_copy / "interception" / "dada.json", set_at("rules", {"de": "", "en": ""}))
    library = load_content(configs_copy)
    assert library.problems == ()
    assert library.interceptions["dada"].rules.en == ""


def test_unknown_extra_keys_are_ignored_and_reported(configs_copy: Path) -> None:
    def add_keys(data: dict[str, Any]) -> None:
        data["future_feature"] = {"x": 1}
        data["llm"]["mirostat"] = 2

    edit_file(configs_copy / "interception" / "dada.json", add_keys)
    library = load_content(configs_copy)
    assert [(p.field, p.used) for p in library.problems] == [
        ("future_feature", True),
        ("llm.mirostat", True),
    ]
    assert "dada" in library.interceptions


def test_optional_fields_fall_back_to_defaults(configs_copy: Path) -> None:
    def strip(data: dict[str, Any]) -> None:
        del data["loras"], data["audience"], data["llm"]["top_p"]

    edit_file(configs_copy / "interception" / "dada.json", strip)
    library = load_content(configs_copy)
    assert library.problems == ()
    dada = library.interceptions["dada"]
    assert dada.loras == ()
    assert dada.audience.min_age == 8
    assert dada.llm.top_p == 0.9
    assert dada.llm.temperature == 1.25


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b'{"id": "dada",', "not valid JSON (line 1", id="bad-json"),
        pytest.param(b"[1, 2, 3]", "one JSON object", id="list"),
        pytest.param(b'"dada"', "one JSON object", id="string"),
        pytest.param(b"\xff\xfe\x00garbage", "cannot be read", id="not-utf8"),
        pytest.param(b"", "not valid JSON", id="empty"),
    ],
)
def test_unreadable_interception_file_is_skipped(
    configs_copy: Path, content: bytes, words: str
) -> None:
    before = baseline(configs_copy)
    (configs_copy / "interception" / "dada.json").write_bytes(content)
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("interception/dada.json", "")
    assert words in problem.problem
    assert set(library.interceptions) == set(before.interceptions) - {"dada"}


def test_a_folder_named_like_a_file_does_not_crash(configs_copy: Path) -> None:
    (configs_copy / "interception" / "folder.json").mkdir()
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert problem.file == "interception/folder.json"
    assert "cannot be read" in problem.problem


def test_hidden_and_non_json_files_are_ignored(configs_copy: Path) -> None:
    (configs_copy / "interception" / ".dada.json.tmp").write_text("{", encoding="utf-8")
    (configs_copy / "interception" / ".hidden.json").write_text("{", encoding="utf-8")
    (configs_copy / "interception" / "README.txt").write_text("notes", encoding="utf-8")
    assert load_content(configs_copy).problems == ()


def test_duplicate_id_in_one_folder_keeps_the_first_file(configs_copy: Path) -> None:
    folder = configs_copy / "interception"
    copy = read_json(folder / "dada.json")
    copy["name"] = {"de": "Zweites Dada", "en": "Second Dada"}
    write_json(folder / "dada_copy.json", copy)
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("interception/dada_copy.json", "id")
    assert "interception/dada.json" in problem.problem
    assert library.interceptions["dada"].name.en == "Dada"


def test_bad_enum_in_output_is_skipped(configs_copy: Path) -> None:
    before = baseline(configs_copy)
    # An output nothing refers to, so that its loss is the only problem.
    extra = {**read_json(configs_copy / "outputs" / "sd15.json"), "id": "extra_sd15"}
    write_json(configs_copy / "outputs" / "extra_sd15.json", extra)
    edit_file(configs_copy / "outputs" / "extra_sd15.json", set_at("media", "hologram"))
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("outputs/extra_sd15.json", "media")
    assert "hologram" in problem.problem
    assert "image" in problem.problem
    assert set(library.outputs) == set(before.outputs)
    assert library.interceptions == before.interceptions


def test_interceptions_naming_a_skipped_output_are_skipped_too(configs_copy: Path) -> None:
    before = baseline(configs_copy)
    edit_file(configs_copy / "outputs" / "tonejs.json", set_at("route", "midi"))
    library = load_content(configs_copy)
    files = {(p.file, p.field) for p in library.problems if p.file != "vram_presets.json"}
    assert files == {
        ("outputs/tonejs.json", "route"),
        ("interception/tonejs_composer.json", "outputs[0]"),
    }
    assert set(library.interceptions) == set(before.interceptions) - {"tonejs_composer"}
    # Every preset lists tonejs among the outputs that fit, so they are skipped as well.
    presets = [p for p in library.problems if p.file == "vram_presets.json"]
    assert len(presets) == len(before.presets)
    assert all(p.problem == "There is no output 'tonejs'." for p in presets)


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        pytest.param(set_at("framework", ""), "framework", "framework", id="code-no-framework"),
        pytest.param(set_at("framework", "vue"), "framework", "one of", id="bad-framework"),
        pytest.param(set_at("adaptation_role", "poet"), "adaptation_role", "role", id="bad-role"),
        pytest.param(set_at("adaptation", {"de": "x"}), "adaptation.en", "missing", id="adapt"),
        pytest.param(set_at("enabled", "yes"), "enabled", "true or false", id="enabled-type"),
        pytest.param(set_at("vram_gb", -1), "vram_gb", "0 to 1024", id="negative-vram"),
        pytest.param(set_at("engine_options", {"a": 1}), "engine_options.a", "text", id="opts"),
    ],
)
def test_broken_code_output_is_skipped(
    configs_copy: Path, edit: Edit, field: str, words: str
) -> None:
    edit_file(configs_copy / "outputs" / "p5js.json", edit)
    library = load_content(configs_copy)
    own = [p for p in library.problems if p.file == "outputs/p5js.json"]
    assert len(own) == 1
    assert own[0].field == field
    assert words in own[0].problem
    assert "p5js" not in library.outputs
    assert "p5_listifier" not in library.interceptions  # it names p5js
    assert "bauhaus" in library.interceptions


def _user_output(user_dir: Path, configs: Path, edit: Edit, new_id: str = "my_sd15") -> None:
    data = read_json(configs / "outputs" / "sd15.json")
    data["id"] = new_id
    edit(data)
    write_json(user_dir / "outputs" / f"{new_id}.json", data)


def _mapping_node(node: str) -> Edit:
    return set_at("mapping.prompt", [{"node": node, "input": "text"}])


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        pytest.param(_mapping_node("99"), "mapping.prompt[0].node", "no node '99'", id="node"),
        pytest.param(
            set_at("mapping.seed", [{"node": "5", "input": "sead"}]),
            "mapping.seed[0].input",
            "has no input 'sead'",
            id="input",
        ),
        pytest.param(set_at("mapping.seed", []), "mapping.seed", "empty", id="empty-targets"),
        pytest.param(set_at("workflow", "nope.json"), "workflow", "does not exist", id="no-file"),
        pytest.param(set_at("workflow", "../x.json"), "workflow", "not allowed", id="path"),
        pytest.param(set_at("workflow", ""), "workflow", "needs a workflow", id="no-workflow"),
        pytest.param(
            set_at(
                "required_models",
                [{"node_class": "VAELoader", "input": "vae_name", "file": "x", "folder": "vae"}],
            ),
            "required_models[0]",
            "no VAELoader node",
            id="model-not-in-template",
        ),
        pytest.param(set_at("defaults", {"steps": [25]}), "defaults.steps", "a text or", id="def"),
    ],
)
def test_broken_user_output_is_skipped(
    configs_copy: Path, user_dir: Path, edit: Edit, field: str, words: str
) -> None:
    _user_output(user_dir, configs_copy, edit)
    library = load_content(configs_copy, user_dir)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("outputs/my_sd15.json", field)
    assert words in problem.problem
    assert "my_sd15" not in library.outputs
    assert "sd15" in library.outputs


@pytest.mark.parametrize(
    ("graph", "words"),
    [
        pytest.param("{broken", "not valid JSON", id="bad-json"),
        pytest.param("[]", "non-empty JSON object", id="list"),
        pytest.param('{"1": 5}', "not a node", id="node-not-object"),
        pytest.param('{"1": {"inputs": {}}}', "no 'class_type'", id="no-class"),
        pytest.param('{"1": {"class_type": "KSampler"}}', "no 'inputs'", id="no-inputs"),
        pytest.param(
            '{"1": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0]}}}',
            "links to node '7'",
            id="dangling-link",
        ),
    ],
)
def test_broken_workflow_template_is_skipped(
    configs_copy: Path, user_dir: Path, graph: str, words: str
) -> None:
    (configs_copy.parent / "workflows" / "mine.json").write_text(graph, encoding="utf-8")
    _user_output(user_dir, configs_copy, set_at("workflow", "mine.json"))
    library = load_content(configs_copy, user_dir)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("outputs/my_sd15.json", "workflow")
    assert words in problem.problem


def test_workflows_dir_can_be_passed_explicitly(configs_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (configs_copy.parent / "workflows").rename(elsewhere)
    broken = load_content(configs_copy)
    assert {p.field for p in broken.problems if p.file.startswith("outputs/")} == {"workflow"}
    library = load_content(configs_copy, workflows_dir=elsewhere)
    assert library.problems == ()


def test_bad_entry_in_a_list_file_skips_only_that_entry(configs_copy: Path) -> None:
    path = configs_copy / "categories.json"
    entries = read_json(path)
    entries.append({"id": "Not An Id", "name": {"de": "x", "en": "x"}, "order": 1})
    entries.append({"id": "sculpture", "name": {"de": "Plastik", "en": "Sculpture"}, "order": 60})
    write_json(path, entries)
    library = load_content(configs_copy)
    problem = only_problem(library)
    index = len(entries) - 2
    assert (problem.file, problem.field) == ("categories.json", f"[{index}].id")
    assert "sculpture" in library.categories


def test_duplicate_entry_in_a_list_file(configs_copy: Path) -> None:
    path = configs_copy / "vram_presets.json"
    entries = read_json(path)
    entries.append(entries[0])
    write_json(path, entries)
    problem = only_problem(load_content(configs_copy))
    assert (problem.file, problem.field) == ("vram_presets.json", f"[{len(entries) - 1}].tier_gb")
    assert "already used" in problem.problem


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        pytest.param(set_at("outputs", ["sd99"]), "[0].outputs[0]", "no output", id="output"),
        pytest.param(
            set_at("roles", {"painter": "ollama/x"}), "[0].roles.painter", "model role", id="role"
        ),
        pytest.param(
            set_at("roles", {"code": "acme/x"}), "[0].roles.code", "no provider 'acme'", id="prov"
        ),
        pytest.param(set_at("roles", {"code": "qwen"}), "[0].roles.code", "provider", id="ref"),
        pytest.param(
            set_at("training", {"network_dim": None}), "[0].training.network_dim", "null", id="knob"
        ),
    ],
)
def test_broken_preset_entry_is_skipped(
    configs_copy: Path, edit: Edit, field: str, words: str
) -> None:
    path = configs_copy / "vram_presets.json"
    entries = read_json(path)
    edit(entries[0])
    write_json(path, entries)
    library = load_content(configs_copy)
    problem = only_problem(library)
    assert (problem.file, problem.field) == ("vram_presets.json", field)
    assert words in problem.problem
    assert sorted(library.presets) == sorted(e["tier_gb"] for e in entries[1:])
    assert entries[0]["tier_gb"] not in library.presets


def test_broken_builtin_providers_file_skips_the_presets_that_need_it(configs_copy: Path) -> None:
    (configs_copy / "providers.json").write_text("{", encoding="utf-8")
    library = load_content(configs_copy)
    problems = {(p.file, p.field): p.problem for p in library.problems}
    assert "not valid JSON" in problems.pop(("providers.json", ""))
    assert {file for file, _ in problems} == {"vram_presets.json"}
    assert all("no provider 'ollama'" in text for text in problems.values())
    assert library.providers == {}
    assert library.presets == {}
    assert len(library.interceptions) >= 15


def test_missing_builtin_list_file_is_reported(configs_copy: Path) -> None:
    (configs_copy / "roles.json").unlink()
    library = load_content(configs_copy)
    problems = {(p.file, p.field): p.problem for p in library.problems}
    assert problems[("roles.json", "")] == "The built-in file is missing."
    assert library.roles == {}
    assert library.outputs == {}  # every output names the model role of its adaptation
    assert ("outputs/sdxl.json", "adaptation_role") in problems


def test_list_file_that_is_not_a_list(configs_copy: Path) -> None:
    write_json(configs_copy / "categories.json", {"free": {}})
    library = load_content(configs_copy)
    assert ("categories.json", "") in {(p.file, p.field) for p in library.problems}
    assert library.categories == {}
    assert library.interceptions == {}  # every config names a category
    assert all(p.field == "category" for p in library.problems if p.file.startswith("inter"))


def test_problem_text_names_file_and_field() -> None:
    problem = ContentProblem("interception/dada.json", "llm.temperature", "Too hot.")
    assert str(problem) == "interception/dada.json (field 'llm.temperature'): Too hot."
    assert str(ContentProblem("roles.json", "", "Missing.")) == "roles.json: Missing."


def test_loading_never_raises_for_random_garbage(configs_copy: Path) -> None:
    junk: list[Any] = [None, 1, "x", [], {}, {"id": 5}, {"id": "a", "name": []}, [{"id": None}]]
    for index, value in enumerate(junk):
        (configs_copy / "interception" / f"junk{index}.json").write_text(
            json.dumps(value), encoding="utf-8"
        )
        (configs_copy / "outputs" / f"junk{index}.json").write_text(
            json.dumps(value), encoding="utf-8"
        )
    library = load_content(configs_copy)
    assert len(library.problems) == 2 * len(junk)
    assert len(library.interceptions) >= 15
