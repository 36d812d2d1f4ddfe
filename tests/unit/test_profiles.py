"""Lesson profiles: export/import round trip, apply, and broken files with clear problems."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop import profiles
from ai4artsed_desktop import settings as s
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.profiles import ProfileError


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


def _lab_settings() -> s.Settings:
    base = s.Settings()
    return dataclasses.replace(
        base,
        ui=dataclasses.replace(base.ui, ui_mode="kids", language="en"),
        safety=dataclasses.replace(base.safety, level="kids"),
        roles=dataclasses.replace(base.roles, interception="ollama/qwen3:4b"),
        retention_days=14,
        image_engine="comfyui",
        ollama=s.BackendSettings(mode="remote", url="http://gpu-server:11434", path="/opt/x"),
        comfyui=s.BackendSettings(mode="remote", url="http://gpu-server:8188"),
    )


def _valid(content: ContentLibrary, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "valid.json"
    profiles.export_profile(
        _lab_settings(), path, name="Kunst 7b", allowed_configs=["dada"], allowed_outputs=["sd15"]
    )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_round_trip_configures_another_seat(content: ContentLibrary, tmp_path: Path) -> None:
    path = tmp_path / "lesson.json"
    exported = profiles.export_profile(
        _lab_settings(),
        path,
        name="Kunst 7b",
        allowed_configs=["dada", "bauhaus"],
        allowed_outputs=["sd15", "p5js"],
    )
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == profiles.FORMAT
    assert data["schema_version"] == profiles.SCHEMA_VERSION
    assert "path" not in json.dumps(data["backends"])  # machine-specific paths stay local

    loaded = profiles.load_profile(path, content)
    assert loaded == exported

    seat = dataclasses.replace(
        s.Settings(), ollama=s.BackendSettings(path="/seat/ollama", port=11500)
    )
    applied = profiles.apply_profile(seat, loaded)
    assert applied.ui.ui_mode == "kids"
    assert applied.ui.language == "de"  # not part of a profile
    assert applied.safety.level == "kids"
    assert applied.roles.interception == "ollama/qwen3:4b"
    assert applied.retention_days == 14
    assert applied.image_engine == "comfyui"
    assert (applied.ollama.mode, applied.ollama.url) == ("remote", "http://gpu-server:11434")
    assert (applied.ollama.path, applied.ollama.port) == ("/seat/ollama", 11500)
    assert applied.comfyui.url == "http://gpu-server:8188"
    assert applied.lesson == s.LessonSettings("Kunst 7b", ("dada", "bauhaus"), ("sd15", "p5js"))
    assert profiles.profile_from_settings(applied) == loaded


def test_applied_profile_survives_saving_settings(content: ContentLibrary, tmp_path: Path) -> None:
    data = _valid(content, tmp_path)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    applied = profiles.apply_profile(s.Settings(), profiles.load_profile(path, content))
    s.save(applied, tmp_path / "settings.json")
    result = s.load(tmp_path / "settings.json")
    assert result.problems == ()
    assert result.settings.lesson.allowed_configs == ("dada",)
    assert result.settings == applied


def test_partial_roles_and_backends_keep_the_seat_values(
    content: ContentLibrary, tmp_path: Path
) -> None:
    data = _valid(content, tmp_path)
    data["model_roles"] = {"code": "ollama/qwen2.5-coder:3b"}
    data["backends"] = {}
    profile, problems = profiles.check_profile(data, "p.json", content)
    assert problems == ()
    assert profile is not None
    seat = dataclasses.replace(
        s.Settings(), swarmui=s.BackendSettings(mode="remote", url="http://x")
    )
    applied = profiles.apply_profile(seat, profile)
    assert applied.roles.code == "ollama/qwen2.5-coder:3b"
    assert applied.roles.interception == s.ModelRoles().interception
    assert applied.swarmui == seat.swarmui


def _problems(content: ContentLibrary, data: Any) -> list[tuple[str, str]]:
    profile, problems = profiles.check_profile(data, "lesson.json", content)
    assert profile is None
    assert all(p.file == "lesson.json" for p in problems)
    return [(p.field, p.problem) for p in problems]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"allowed_configs": ["dada", "no_such_rule"]}, "allowed_configs[1]", "no_such_rule"),
        ({"allowed_outputs": ["sd99"]}, "allowed_outputs[0]", "There is no output 'sd99'"),
        ({"allowed_outputs": "sd15"}, "allowed_outputs", "found a text"),
        ({"safety_level": "toddler"}, "safety_level", "not one of"),
        ({"ui_mode": 3}, "ui_mode", "found the number 3"),
        ({"retention_days": -1}, "retention_days", "0 or more"),
        ({"retention_days": True}, "retention_days", "found true"),
        ({"name": "  "}, "name", "empty"),
        ({"schema_version": 7}, "schema_version", "newer version"),
        ({"format": "something"}, "format", "not a lesson profile"),
        ({"colour": "red"}, "colour", "Unknown field"),
        ({"model_roles": {"painter": "ollama/x"}}, "model_roles.painter", "Unknown model role"),
        ({"model_roles": {"code": "qwen"}}, "model_roles.code", "provider/model"),
        ({"model_roles": {"code": "nope/x"}}, "model_roles.code", "no provider 'nope'"),
        ({"model_roles": {"safety": "mistral/small"}}, "model_roles.safety", "local provider"),
        ({"backends": {"ollama": {"mode": "remote", "url": ""}}}, "backends.ollama.url", "URL"),
        ({"backends": {"ollama": {"mode": "cloud"}}}, "backends.ollama.mode", "managed"),
        ({"backends": {"kohya": {"mode": "managed"}}}, "backends.kohya", "Unknown backend"),
        (
            {"allowed_configs": ["p5_listifier"], "allowed_outputs": ["sd15"]},
            "allowed_configs",
            "none of the allowed outputs",
        ),
    ],
)
def test_broken_field_is_named_with_its_problem(
    content: ContentLibrary, tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    data = {**_valid(content, tmp_path), **change}
    problems = _problems(content, data)
    assert any(f == field and words in text for f, text in problems), problems


def test_missing_field_and_every_problem_is_listed(content: ContentLibrary, tmp_path: Path) -> None:
    data = _valid(content, tmp_path)
    del data["ui_mode"]
    data["safety_level"] = "toddler"
    problems = _problems(content, data)
    assert ("ui_mode", "This field is missing.") in problems
    assert any(f == "safety_level" for f, _ in problems)


def test_top_level_must_be_an_object(content: ContentLibrary) -> None:
    assert _problems(content, [1, 2]) == [("", "The file must contain one JSON object {...}.")]


def test_bad_json_names_file_and_line(content: ContentLibrary, tmp_path: Path) -> None:
    path = tmp_path / "lesson.json"
    path.write_text('{\n  "name": "Kunst",\n  "ui_mode": \n}', encoding="utf-8")
    with pytest.raises(ProfileError) as raised:
        profiles.load_profile(path, content)
    (problem,) = raised.value.problems
    assert problem.file == "lesson.json"
    assert "not valid JSON (line 4" in problem.problem
    assert "nothing was changed" in raised.value.user_message


def test_unreadable_file(content: ContentLibrary, tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot be read"):
        profiles.load_profile(tmp_path / "missing.json", content)


def test_a_settings_file_is_not_a_profile(content: ContentLibrary, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    s.save(s.Settings(), path)
    with pytest.raises(ProfileError) as raised:
        profiles.load_profile(path, content)
    fields = {p.field for p in raised.value.problems}
    assert "format" in fields
    assert "ui" in fields  # an unknown field


def test_export_to_unwritable_place_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(profiles.ConfigError, match="could not be saved"):
        profiles.export_profile(s.Settings(), blocker / "p.json")


# ------------------------------------------------------------------ the settings' lesson section


def test_v2_settings_file_migrates_to_an_empty_lesson_section(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 2, "ui": {"ui_mode": "kids"}}), "utf-8")
    result = s.load(path)
    assert result.problems == ()
    assert result.settings.lesson == s.LessonSettings()
    assert result.settings.ui.ui_mode == "kids"
    assert s.migrate({"schema_version": 2})["lesson"] == {}


@pytest.mark.usefixtures("expect_log_warnings")
def test_bad_allowed_list_falls_back_to_all(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    data = {
        "schema_version": 3,
        "safety": {"level": "youth"},
        "lesson": {"profile_name": "X", "allowed_configs": [1, "dada"]},
    }
    path.write_text(json.dumps(data), "utf-8")
    result = s.load(path)
    assert result.settings.lesson == s.LessonSettings(profile_name="X")
    assert [p.split(":")[0] for p in result.problems] == ["lesson.allowed_configs"]
    assert result.settings.safety.level == "youth"  # a readable level survives the damage


@pytest.mark.usefixtures("expect_log_warnings")
def test_damaged_file_without_a_level_falls_back_to_kids(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    data = {"schema_version": 3, "lesson": {"profile_name": "X", "allowed_configs": [1]}}
    path.write_text(json.dumps(data), "utf-8")
    result = s.load(path)
    assert result.settings.safety.level == "kids"
    assert [p.split(":")[0] for p in result.problems] == ["lesson.allowed_configs", "safety.level"]


def test_lesson_lists_via_replace_path_and_hidden_from_the_form() -> None:
    changed = s.replace_path(s.Settings(), "lesson.allowed_outputs", ["sd15", "sd15", "p5js"])
    assert changed.lesson.allowed_outputs == ("sd15", "p5js")
    with pytest.raises(ValueError, match="list of texts"):
        s.replace_path(s.Settings(), "lesson.allowed_outputs", "sd15")
    assert not [name for name, _ in s.describe() if name.startswith("lesson.")]
    hidden = [name for name, _ in s.describe(include_hidden=True) if name.startswith("lesson.")]
    assert hidden == [
        "lesson.profile_name",
        "lesson.allowed_configs",
        "lesson.allowed_outputs",
        "lesson.bundle_location",
        "lesson.bundle_key",
    ]


FPR = "24H2-RAY7-YZGY-52KQ-P76Y-UC7T-FUQ7-JRCM"


def test_a_model_bundle_travels_with_the_profile(content: ContentLibrary, tmp_path: Path) -> None:
    settings = _lab_settings()
    lesson = dataclasses.replace(
        settings.lesson, bundle_location=r"\\school\models\7b", bundle_key=FPR
    )
    path = tmp_path / "lesson.json"
    profiles.export_profile(dataclasses.replace(settings, lesson=lesson), path, name="7b")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["model_bundle"] == {"location": r"\\school\models\7b", "key": FPR}
    data["model_bundle"]["key"] = FPR.lower().replace("-", " ")  # typed by hand
    path.write_text(json.dumps(data), encoding="utf-8")
    applied = profiles.apply_profile(s.Settings(), profiles.load_profile(path, content))
    assert applied.lesson.bundle_location == r"\\school\models\7b"
    assert applied.lesson.bundle_key == FPR


def test_a_profile_without_a_bundle_names_none_and_clears_an_old_one(
    content: ContentLibrary, tmp_path: Path
) -> None:
    data = _valid(content, tmp_path)
    assert "model_bundle" not in data  # older seats read it as before
    profile, problems = profiles.check_profile(data, "p.json", content)
    assert problems == ()
    assert profile is not None
    old = dataclasses.replace(
        s.Settings(), lesson=s.LessonSettings(bundle_location="E:/old", bundle_key=FPR)
    )
    assert profiles.apply_profile(old, profile).lesson.bundle_location == ""


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        ({"location": "E:/bundle", "key": "ABCD"}, "model_bundle.key"),
        ({"location": "E:/bundle"}, "model_bundle.key"),
        ({"location": "  ", "key": FPR}, "model_bundle.location"),
        ({"location": "E:/bundle", "key": FPR, "extra": 1}, "model_bundle.extra"),
        ("E:/bundle", "model_bundle"),
    ],
)
def test_a_broken_model_bundle_entry_is_refused(
    content: ContentLibrary, tmp_path: Path, bundle: object, field: str
) -> None:
    data = _valid(content, tmp_path)
    data["model_bundle"] = bundle
    profile, problems = profiles.check_profile(data, "p.json", content)
    assert profile is None
    assert field in [p.field for p in problems]
