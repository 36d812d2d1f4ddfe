"""Translation catalogues are complete and consistent; the Translator behaves."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication

from ai4artsed_desktop.events import BackendState
from ai4artsed_desktop.settings import LANGUAGES
from ai4artsed_desktop.ui.i18n import (
    Translator,
    both_languages,
    catalogue_dir,
    load_catalogue,
    localized_params,
)
from ai4artsed_desktop.ui.main_window import PAGE_IDS
from ai4artsed_desktop.ui.pages.settings_form import translation_keys

UI_DIR = Path(__file__).resolve().parents[2] / "ai4artsed_desktop" / "ui"
LITERAL_KEY = re.compile(r"""\btr\(\s*"([a-z_.]+)\"""")


def _catalogues() -> dict[str, dict[str, str]]:
    """Every catalogue file of each language, merged (and each file must be valid JSON)."""
    merged: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        paths = [catalogue_dir() / f"{lang}.json", *catalogue_dir().glob(f"*.{lang}.json")]
        merged[lang] = {}
        for path in paths:
            merged[lang].update(json.loads(path.read_text(encoding="utf-8")))
    return merged


@pytest.mark.usefixtures("expect_log_warnings")
def test_page_catalogues_load_merged_and_come_in_both_languages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "de.json").write_text('{"a": "A-de"}', encoding="utf-8")
    (tmp_path / "page.de.json").write_text('{"b": "B-de"}', encoding="utf-8")
    (tmp_path / "broken.de.json").write_text("{", encoding="utf-8")
    assert load_catalogue("de", tmp_path) == {"a": "A-de", "b": "B-de"}
    assert "broken.de.json" in caplog.text
    for lang in LANGUAGES:
        for other in LANGUAGES:
            for path in catalogue_dir().glob(f"*.{lang}.json"):
                area = path.name.removesuffix(f".{lang}.json")
                assert (catalogue_dir() / f"{area}.{other}.json").is_file()


def test_catalogues_have_the_same_keys_and_no_empty_values() -> None:
    cats = _catalogues()
    assert set(cats["de"]) == set(cats["en"])
    for lang, cat in cats.items():
        empty = [k for k, v in cat.items() if not isinstance(v, str) or not v.strip()]
        assert not empty, f"{lang}: {empty}"


def test_placeholders_match_between_languages() -> None:
    cats = _catalogues()
    field = re.compile(r"\{(\w+)\}")
    for key, text in cats["en"].items():
        assert set(field.findall(text)) == set(field.findall(cats["de"][key])), key


def test_every_settings_field_has_label_help_and_choices_in_both_languages() -> None:
    for lang, cat in _catalogues().items():
        missing = [k for k in translation_keys() if k not in cat]
        assert not missing, f"{lang}: {missing}"


def test_every_literal_key_in_the_ui_code_exists() -> None:
    keys = set()
    for path in UI_DIR.rglob("*.py"):
        keys.update(LITERAL_KEY.findall(path.read_text(encoding="utf-8")))
    assert len(keys) > 50
    for lang, cat in _catalogues().items():
        missing = sorted(keys - set(cat))
        assert not missing, f"{lang}: {missing}"


def test_dynamic_keys_exist() -> None:
    dynamic = [f"nav.{p}" for p in PAGE_IDS]
    for state in BackendState:
        dynamic += [f"backend.state.{state.value}", f"backend.state_help.{state.value}"]
    for lang, cat in _catalogues().items():
        assert not [k for k in dynamic if k not in cat], lang


def test_translator_switches_and_formats(qapp: Any, qtbot: Any) -> None:
    translator = Translator("de")
    assert translator.tr("nav.settings") == "Einstellungen"
    with qtbot.waitSignal(translator.language_changed, timeout=1000) as switched:
        translator.set_language("en")
    assert switched.args == ["en"]
    assert translator.tr("status.vram", used="3.1", total="24") == "VRAM 3.1 / 24 GB"
    with qtbot.assertNotEmitted(translator.language_changed):
        translator.set_language("en")
    with pytest.raises(ValueError, match="unsupported"):
        translator.set_language("fr")


def test_missing_key_falls_back_to_english_then_the_key(qapp: Any, tmp_path: Path) -> None:
    (tmp_path / "en.json").write_text('{"only.en": "English"}', encoding="utf-8")
    (tmp_path / "de.json").write_text("{}", encoding="utf-8")
    translator = Translator("de", folder=tmp_path)
    assert translator.tr("only.en") == "English"
    assert translator.tr("nowhere") == "nowhere"


@pytest.mark.usefixtures("expect_log_warnings")
def test_broken_catalogue_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "de.json").write_text("{broken", encoding="utf-8")
    assert load_catalogue("de", tmp_path) == {}


def test_counts_take_the_right_plural_form(qapp: Any) -> None:
    translator = Translator("de")
    assert translator.plural("history.deleted", 1) == "1 Durchlauf gelöscht."
    assert translator.plural("history.deleted", 3) == "3 Durchläufe gelöscht."
    assert translator.plural("history.deleted", 0) == "0 Durchläufe gelöscht."
    translator.set_language("en")
    assert translator.plural("history.deleted", 1) == "1 run deleted."
    assert translator.plural("history.deleted", 2) == "2 runs deleted."
    for lang, cat in _catalogues().items():  # every plural key has both forms
        stems = {k.rsplit(".", 1)[0] for k in cat if k.endswith((".one", ".other"))}
        assert stems
        assert all(f"{s}.one" in cat and f"{s}.other" in cat for s in stems), lang


def test_qt_dialogs_and_buttons_follow_the_language(qapp: Any) -> None:
    """Qt's own texts (file dialogs, standard buttons) come from qtbase_de.qm in German."""
    translator = Translator("de")
    assert translator.qt_texts_language.startswith("de")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Abbrechen"
    assert QCoreApplication.translate("QFileDialog", "Save As") == "Speichern unter"
    translator.set_language("en")
    assert translator.qt_texts_language == ""
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
    translator.set_language("de")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Abbrechen"
    translator.set_language("en")  # leave the process English for the other tests


def test_a_message_inside_another_comes_in_both_languages(qapp: Any) -> None:
    """both_languages: the inner text for each language; English where a key is unknown."""
    translator = Translator("de")
    filled = both_languages(
        translator, "reason", "error.unknown_output", {"output": "sd99"}, "No sd99."
    )
    assert filled["reason_de"] == load_catalogue("de")["error.unknown_output"].format(output="sd99")
    assert filled["reason_en"].startswith("There is no output called “sd99”")
    unknown = both_languages(translator, "reason", "error.from_a_newer_app", {}, "Newer.")
    assert unknown == {"reason_de": "Newer.", "reason_en": "Newer."}
    outer = translator.tr("error.lab.blocked_unreadable", **localized_params(filled, "de"))
    assert outer.endswith(filled["reason_de"])
