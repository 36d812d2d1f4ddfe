from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ai4artsed_desktop import settings as s
from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.settings_store import SettingsStore

#: The defaults with the strictest safety level: what a file that cannot be read gives.
STRICT_DEFAULTS = s.Settings(safety=s.SafetySettings(level="kids"))


def test_missing_file_gives_defaults_without_problems(tmp_path: Path) -> None:
    result = s.load(tmp_path / "settings.json")
    assert result.settings == s.Settings()
    assert result.problems == ()


@pytest.mark.usefixtures("expect_log_warnings")
def test_corrupt_json_falls_back_to_defaults_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"ui": {"language": "en"', encoding="utf-8")
    result = s.load(path)
    assert result.settings == STRICT_DEFAULTS
    assert "not valid JSON" in result.problems[0]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1


@pytest.mark.usefixtures("expect_log_warnings")
def test_invalid_value_falls_back_per_field_and_keeps_valid_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "settings.json"
    data = {
        "schema_version": s.SCHEMA_VERSION,
        "ui": {"language": "en", "ui_mode": "wizard"},
        "ollama": {"port": 70000, "mode": "remote", "url": "http://gpu:11434"},
        "retention_days": "many",
        "demo_mode": True,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    result = s.load(path)
    cfg = result.settings
    assert cfg.ui.language == "en"
    assert cfg.ui.ui_mode == s.UiSettings().ui_mode
    assert cfg.ollama.port == 0
    assert cfg.ollama.mode == "remote"
    assert cfg.ollama.url == "http://gpu:11434"
    assert cfg.retention_days == 0
    assert cfg.demo_mode is True
    assert {p.split(":")[0] for p in result.problems} == {
        "ui.ui_mode",
        "ollama.port",
        "retention_days",
        "safety.level",  # the file had problems and did not say: the strictest level
    }
    assert cfg.safety.level == "kids"
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1


@pytest.mark.usefixtures("expect_log_warnings")
@pytest.mark.parametrize("content", ["[]", '"text"', "null", "\x00\x01binary"])
def test_wrong_top_level_never_raises(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    assert s.load(path).settings == STRICT_DEFAULTS


@pytest.mark.usefixtures("expect_log_warnings")
def test_section_of_wrong_type_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"ui": "en", "safety": {"level": "kids"}}), encoding="utf-8")
    result = s.load(path)
    assert result.settings.ui == s.UiSettings()
    assert result.settings.safety.level == "kids"


def test_bool_is_not_accepted_as_number(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole number"):
        s.replace_path(s.Settings(), "retention_days", True)


def test_v1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"schema_version": 1, "language": "en", "safety_level": "kids"}),
        encoding="utf-8",
    )
    result = s.load(path)
    assert result.problems == ()
    assert result.settings.ui.language == "en"
    assert result.settings.safety.level == "kids"


def test_round_trip_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    cfg = s.replace_path(s.Settings(), "ui.language", "en")
    cfg = s.replace_path(cfg, "comfyui.port", 8190)
    s.save(cfg, path)
    assert json.loads(path.read_text(encoding="utf-8"))["schema_version"] == s.SCHEMA_VERSION
    assert s.load(path) == s.LoadResult(cfg)


def test_save_is_user_only(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    s.save(s.Settings(), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_save_is_atomic_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    s.save(s.Settings(), path)
    before = path.read_bytes()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        s.save(s.replace_path(s.Settings(), "ui.language", "en"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_replace_path_rejects_unknown_and_invalid() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        s.replace_path(s.Settings(), "ui.colour", "red")
    with pytest.raises(ValueError, match="not one of"):
        s.replace_path(s.Settings(), "safety.level", "toddler")


def test_describe_lists_every_leaf_with_a_description() -> None:
    fields = s.describe()
    names = [name for name, _ in fields]
    assert "ollama.url" in names
    assert "demo_mode" in names
    assert all(fld.metadata["description"] for _, fld in fields)


def test_store_saves_and_notifies(tmp_path: Path) -> None:
    store = SettingsStore.load(tmp_path / "settings.json")
    seen: list[tuple[str, str]] = []
    unsubscribe = store.subscribe(lambda old, new: seen.append((old.ui.language, new.ui.language)))
    store.set("ui.language", "en")
    assert seen == [("de", "en")]
    assert SettingsStore.load(tmp_path / "settings.json").current.ui.language == "en"
    unsubscribe()
    store.set("ui.language", "de")
    assert seen == [("de", "en")]


def test_store_reports_unwritable_file_and_keeps_value(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    store = SettingsStore(blocker / "settings.json")
    with pytest.raises(ConfigError, match="could not be saved"):
        store.set("ui.language", "en")
    assert store.current.ui.language == "de"


@pytest.mark.usefixtures("expect_log_warnings")
@pytest.mark.parametrize(
    ("safety", "level"),
    [
        ({"level": "godmode"}, "kids"),  # unreadable value
        ({"level": 3}, "kids"),
        ("adult", "kids"),  # the section is not an object
        ({"level": "adult", "local_only": "yes"}, "adult"),  # readable level kept
    ],
)
def test_unreadable_safety_level_falls_back_to_the_strictest(
    tmp_path: Path, safety: object, level: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": s.SCHEMA_VERSION, "safety": safety}))
    assert s.load(path).settings.safety.level == level


def test_clean_file_without_a_level_keeps_the_default(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": s.SCHEMA_VERSION, "retention_days": 3}))
    result = s.load(path)
    assert result.problems == ()
    assert result.settings.safety.level == s.SafetySettings().level


@pytest.mark.usefixtures("expect_log_warnings")
def test_damaged_copy_is_kept_once_per_content(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{broken", encoding="utf-8")
    first = s.keep_damaged_copy(path, now=1_700_000_000)
    assert first is not None
    assert first.name.startswith("settings.json.corrupt-")
    assert first.read_text(encoding="utf-8") == "{broken"
    assert s.keep_damaged_copy(path, now=1_700_000_100) == first  # same bytes: no new copy
    path.write_text("{broken again", encoding="utf-8")
    second = s.keep_damaged_copy(path, now=1_700_000_200)
    assert second is not None
    assert second != first
    assert s.keep_damaged_copy(tmp_path / "missing.json") is None


def test_the_lab_console_port_setting_defaults_to_the_consoles_port() -> None:
    from ai4artsed_desktop.lab.console import DEFAULT_PORT

    assert s.Settings().lab.console_port == DEFAULT_PORT
