"""User content: files with a built-in id override it, new ids extend the library."""

from __future__ import annotations

from pathlib import Path

from ai4artsed_desktop.content.loader import load_content, load_workflow
from ai4artsed_desktop.content.schema import ContentLibrary

from .conftest import BUILTIN_CONFIGS, BUILTIN_WORKFLOWS, read_json, write_json


def builtin() -> ContentLibrary:
    return load_content(BUILTIN_CONFIGS)


def test_user_file_overrides_a_builtin_config(user_dir: Path) -> None:
    data = read_json(BUILTIN_CONFIGS / "interception" / "bauhaus.json")
    data["name"] = {"de": "Unser Bauhaus", "en": "Our Bauhaus"}
    data["llm"]["temperature"] = 0.2
    target = user_dir / "interception" / "whatever_name.json"
    write_json(target, data)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert library.problems == ()
    bauhaus = library.interceptions["bauhaus"]
    assert bauhaus.name.en == "Our Bauhaus"
    assert bauhaus.llm.temperature == 0.2
    assert not bauhaus.builtin
    assert bauhaus.source == target
    assert len(library.interceptions) == len(builtin().interceptions)
    assert library.interceptions["dada"].builtin


def test_new_user_file_extends_the_library(user_dir: Path) -> None:
    data = read_json(BUILTIN_CONFIGS / "interception" / "haiku.json")
    data.update(
        id="elfchen",
        name={"de": "Elfchen", "en": "Eleven words"},
        outputs=["sdxl", "sd15"],
        default_output="sd15",
    )
    write_json(user_dir / "interception" / "elfchen.json", data)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert library.problems == ()
    assert set(library.interceptions) == set(builtin().interceptions) | {"elfchen"}
    elfchen = library.interceptions["elfchen"]
    assert not elfchen.builtin
    assert elfchen.supports("sd15")
    assert not elfchen.supports("sd35_large")


def test_broken_user_override_keeps_the_builtin(user_dir: Path) -> None:
    data = read_json(BUILTIN_CONFIGS / "interception" / "dada.json")
    data["llm"]["temperature"] = 5
    write_json(user_dir / "interception" / "dada.json", data)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    [problem] = library.problems
    assert (problem.file, problem.field) == ("interception/dada.json", "llm.temperature")
    assert library.interceptions["dada"].builtin
    assert library.interceptions["dada"].llm.temperature == 1.25


def test_user_config_may_use_user_categories_and_outputs(user_dir: Path) -> None:
    write_json(
        user_dir / "categories.json",
        [
            {"id": "sculpture", "name": {"de": "Plastik", "en": "Sculpture"}, "order": 70},
            {"id": "free", "name": {"de": "Offen", "en": "Anything goes"}, "order": 0},
        ],
    )
    output = read_json(BUILTIN_CONFIGS / "outputs" / "sdxl.json")
    output.update(id="sdxl_fast", defaults={"width": 768, "height": 768, "steps": 12, "cfg": 5})
    write_json(user_dir / "outputs" / "sdxl_fast.json", output)
    config = read_json(BUILTIN_CONFIGS / "interception" / "bauhaus.json")
    config.update(
        id="clay", category="sculpture", outputs=["sdxl_fast"], default_output="sdxl_fast"
    )
    write_json(user_dir / "interception" / "clay.json", config)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert library.problems == ()
    assert library.categories["free"].name.en == "Anything goes"
    assert library.categories["sculpture"].order == 70
    assert library.outputs["sdxl_fast"].defaults["steps"] == 12
    assert library.interceptions["clay"].category == "sculpture"
    assert len(library.categories) == len(builtin().categories) + 1


def test_user_output_may_bring_its_own_workflow(user_dir: Path) -> None:
    graph = read_json(BUILTIN_WORKFLOWS / "sd15.json")
    graph["7"]["inputs"]["filename_prefix"] = "class_7b"
    write_json(user_dir / "workflows" / "class.json", graph)
    output = read_json(BUILTIN_CONFIGS / "outputs" / "sd15.json")
    output.update(id="class_sd15", workflow="class.json")
    write_json(user_dir / "outputs" / "class_sd15.json", output)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert library.problems == ()
    loaded = load_workflow(library.outputs["class_sd15"], BUILTIN_WORKFLOWS)
    assert loaded["7"]["inputs"]["filename_prefix"] == "class_7b"


def test_user_list_file_problem_keeps_builtin_entries(user_dir: Path) -> None:
    (user_dir / "providers.json").write_text("not json", encoding="utf-8")
    library = load_content(BUILTIN_CONFIGS, user_dir)
    [problem] = library.problems
    assert problem.file == "providers.json"
    assert library.providers == builtin().providers


def test_missing_user_list_files_are_fine(user_dir: Path) -> None:
    (user_dir / "interception").mkdir()
    assert load_content(BUILTIN_CONFIGS, user_dir) == builtin()


def test_user_preset_overrides_a_tier(user_dir: Path) -> None:
    presets = read_json(BUILTIN_CONFIGS / "vram_presets.json")
    eight = next(p for p in presets if p["tier_gb"] == 8)
    eight["roles"]["interception"] = "mistral/mistral-small-latest"
    write_json(user_dir / "vram_presets.json", [eight])
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert library.problems == ()
    assert library.presets[8].roles["interception"] == "mistral/mistral-small-latest"
    assert library.presets[16] == builtin().presets[16]


def test_lab_server_provider_loads_and_unknown_keys_are_reported(user_dir: Path) -> None:
    providers = read_json(BUILTIN_CONFIGS / "providers.json")
    providers.append(
        {
            "id": "labserver",
            "name": {"de": "Schulserver", "en": "School server"},
            "data_protection": "local",
            "base_url": "http://192.168.1.20:8080/v1",
            "api_key_env": "LAB_LLM_KEY",
            "base_ulr": "typo",
            "_comment": "comments are fine",
        }
    )
    write_json(user_dir / "providers.json", providers)
    rule = read_json(BUILTIN_CONFIGS / "interception" / "haiku.json")
    rule["llm"]["temprature"] = 0.1
    write_json(user_dir / "interception" / "haiku.json", rule)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    lab = library.providers["labserver"]
    assert (lab.base_url, lab.api_key_env, lab.local) == (
        "http://192.168.1.20:8080/v1",
        "LAB_LLM_KEY",
        True,
    )
    found = {(p.file, p.field, p.used) for p in library.problems}
    assert found == {
        ("providers.json", "[4].base_ulr", True),
        ("interception/haiku.json", "llm.temprature", True),
    }
    assert library.interceptions["haiku"].llm.temperature != 0.1  # the typo is not used


def test_provider_with_a_bad_base_url_is_skipped(user_dir: Path) -> None:
    providers = read_json(BUILTIN_CONFIGS / "providers.json")
    providers.append(
        {"id": "bad", "name": {"de": "x", "en": "x"}, "data_protection": "local",
         "base_url": "ftp://server/v1"}
    )  # fmt: skip
    write_json(user_dir / "providers.json", providers)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    assert "bad" not in library.providers
    (problem,) = library.problems
    assert (problem.field, problem.used) == ("[4].base_url", False)


def test_a_video_output_needs_its_frames_mapping_and_frame_rate(user_dir: Path) -> None:
    data = read_json(BUILTIN_CONFIGS / "outputs" / "wan22_video.json")
    no_frames = {**data, "id": "film_a", "mapping": dict(data["mapping"])}
    del no_frames["mapping"]["frames"]
    no_fps = {**data, "id": "film_b", "defaults": dict(data["defaults"])}
    del no_fps["defaults"]["fps"]
    bad_rule = {**data, "id": "film_c", "video": {"frame_step": 0, "max_frames": 121}}
    for item in (no_frames, no_fps, bad_rule):
        write_json(user_dir / "outputs" / f"{item['id']}.json", item)
    library = load_content(BUILTIN_CONFIGS, user_dir)
    found = {(p.file, p.field) for p in library.problems}
    assert found == {
        ("outputs/film_a.json", "mapping"),
        ("outputs/film_b.json", "defaults"),
        ("outputs/film_c.json", "video.frame_step"),
    }
    assert {"film_a", "film_b", "film_c"}.isdisjoint(library.outputs)
    assert library.outputs["wan22_video"].video is not None
