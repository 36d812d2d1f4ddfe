"""Every problem a lesson profile can have reads in German and English.

The checker says each problem in English (the log, the CLI) and names its catalogue text
``profile.problem.<name>`` with parameters; the window shows that text in its language.
These tests hold that each problem of :data:`profiles.PROBLEMS` has both texts with the
placeholders the checker fills, and that the checker really produces each one of them.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop import profiles
from ai4artsed_desktop import settings as s
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary, ContentProblem
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.profiles import ProfileError
from ai4artsed_desktop.ui.i18n import load_catalogue, localized_params

PLACEHOLDER = re.compile(r"\{(\w+)\}")
LANGUAGES = ("de", "en")


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


@pytest.fixture(scope="module")
def catalogues() -> dict[str, dict[str, str]]:
    return {lang: load_catalogue(lang) for lang in LANGUAGES}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_problem_has_both_texts_with_the_checkers_placeholders(
    catalogues: dict[str, dict[str, str]],
) -> None:
    for name, english in profiles.PROBLEMS.items():
        key = f"profile.problem.{name}"
        found = {
            lang: set(PLACEHOLDER.findall(catalogues[lang].get(key, ""))) for lang in LANGUAGES
        }
        assert catalogues["de"].get(key), f"{key} lacks a German text"
        assert catalogues["en"].get(key), f"{key} lacks an English text"
        assert found["de"] == found["en"], key
        # The catalogue may leave out a value (the OS's English reason), never invent one.
        assert found["en"] <= _fields(english), (key, found["en"], _fields(english))
    assert catalogues["de"]["error.profile_unusable"]
    assert catalogues["en"]["error.profile_unusable"]


def _valid(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "valid.json"
    profiles.export_profile(
        s.Settings(), path, name="Kunst 7b", allowed_configs=["dada"], allowed_outputs=["sd15"]
    )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


#: Broken profiles that together produce every problem of the checker.
CHANGES: list[dict[str, Any]] = [
    {"format": "something", "schema_version": 7, "colour": "red", "name": 5},
    {"schema_version": 0, "retention_days": -1, "name": "  ", "safety_level": "toddler"},
    {"name": "x" * (profiles.MAX_NAME + 1), "allowed_configs": ["no_such_rule", 3]},
    {"allowed_outputs": ["sd99"]},
    {"model_roles": {"painter": "ollama/x", "code": "qwen", "interception": "nope/x"}},
    {"model_roles": {"safety": "mistral/small"}},
    {"backends": {"kohya": {}, "swarmui": "remote", "ollama": {"mode": "cloud", "x": 1}}},
    {"backends": {"ollama": {"mode": "remote", "url": 5}}},
    {"backends": {"ollama": {"mode": "remote", "url": "gpu-server"}}},
    {"model_bundle": {"key": "abc", "where": 1}},
    {"model_bundle": {"location": "/media/stick", "key": "abc"}},
    {"allowed_configs": ["p5_listifier"], "allowed_outputs": ["sd15"]},
]


def _all_problems(content: ContentLibrary, tmp_path: Path) -> list[ContentProblem]:
    found: list[ContentProblem] = []
    for change in CHANGES:
        _profile, problems = profiles.check_profile(
            {**_valid(tmp_path), **change}, "p.json", content
        )
        found += problems
    without_ui_mode = _valid(tmp_path)
    del without_ui_mode["ui_mode"]
    found += profiles.check_profile(without_ui_mode, "p.json", content)[1]
    found += profiles.check_profile([1, 2], "p.json", content)[1]
    files = {
        "big.json": b" " * (1024 * 1024 + 1),
        "latin1.json": '{"name": "Größe"}'.encode("latin-1"),
        "bad.json": b'{\n  "name": \n}',
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ProfileError) as raised:
            profiles.load_profile(tmp_path / name, content)
        assert raised.value.key == "error.profile_unusable"
        assert raised.value.params == {"file": name}
        found += raised.value.problems
    return found


def test_the_checker_produces_every_problem_and_fills_both_texts(
    content: ContentLibrary, tmp_path: Path, catalogues: dict[str, dict[str, str]]
) -> None:
    problems = _all_problems(content, tmp_path)
    produced = {p.key for p in problems}
    assert produced == {f"profile.problem.{name}" for name in profiles.PROBLEMS}
    for problem in problems:
        for lang in LANGUAGES:
            text = catalogues[lang][problem.key].format(
                **localized_params(problem.params, lang)
            )  # a placeholder without a value raises KeyError here
            assert "{" not in text, (problem, lang)


def test_the_english_sentence_stays_for_the_log(content: ContentLibrary) -> None:
    data = {"format": profiles.FORMAT, "schema_version": 1, "name": 5}
    _profile, problems = profiles.check_profile(data, "p.json", content)
    by_field = {p.field: p for p in problems}
    name = by_field["name"]
    assert name.problem == "Expected a text, found the number 5."
    assert name.key == "profile.problem.wrong_type"
    assert name.params["found_de"] == "die Zahl 5"
    assert str(by_field["ui_mode"]) == "p.json (field 'ui_mode'): This field is missing."
