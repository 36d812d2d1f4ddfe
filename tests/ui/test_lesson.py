"""Settings → Lesson: profile export/import, problems inline, header name, lesson filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings import LessonSettings
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.widgets.lesson_panel import LessonPanel, checked_ids

from .helpers import open_shell

CONTENT = load_content(resources_dir() / "configs")


@pytest.fixture
def shell(
    qloop: Any, qtbot: Any, app_paths: AppPaths, store: SettingsStore, fake_gpu: FakeGpuProvider
) -> Iterator[Shell]:
    with open_shell(
        qtbot, paths=app_paths, store=store, content=CONTENT, gpu=fake_gpu, demo=True
    ) as built:
        yield built


def _panel(shell: Shell) -> LessonPanel:
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    assert page.lesson is not None
    shell.window.show_page("settings")
    page.show_tab("lesson")
    return page.lesson


def _uncheck_all_but(box: Any, keep: set[str]) -> None:
    for row in range(box.count()):
        item = box.item(row)
        on = item.data(Qt.ItemDataRole.UserRole) in keep
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)


def test_export_then_import_applies_the_profile_and_shows_its_name(
    shell: Shell, qtbot: Any, tmp_path: Path, store: SettingsStore
) -> None:
    panel = _panel(shell)
    target = tmp_path / "bauhaus.json"
    panel.ask_export_path = lambda: target
    panel.name_edit.setText("Bauhaus 7b")
    _uncheck_all_but(panel.configs_list, {"bauhaus", "your_call"})
    _uncheck_all_but(panel.outputs_list, {"sd15"})
    panel.export_button.click()
    qtbot.waitUntil(lambda: panel.profile_message.isVisible())
    data = json.loads(target.read_text("utf-8"))
    assert data["name"] == "Bauhaus 7b"
    assert sorted(data["allowed_configs"]) == ["bauhaus", "your_call"]
    assert data["allowed_outputs"] == ["sd15"]
    # The ticks applied on this seat at once (they look live, so they are live).
    assert store.current.lesson.profile_name == "Bauhaus 7b"
    assert store.current.lesson.allowed_outputs == ("sd15",)
    panel.ask_import_path = lambda: target
    panel.import_button.click()
    qtbot.waitUntil(lambda: panel.profile_message.text() == "Profil „Bauhaus 7b“ ist jetzt aktiv.")
    assert store.current.lesson.profile_name == "Bauhaus 7b"
    assert shell.window.profile_label.text() == "Profil: Bauhaus 7b"
    assert shell.window.profile_label.isVisible()
    assert panel.active_label.text() == "Aktives Profil: Bauhaus 7b"
    # Students see only the allowed rules.
    assert {c.id for c in shell.create_vm.visible_configs} == {"bauhaus", "your_call"}
    picker = shell.window.pages["create"].run_panel.outputs  # type: ignore[attr-defined]
    shown = [tile.output_id for tile in picker.tiles]
    assert shown == ["sd15"]
    assert shell.run_vm is not None
    assert shell.run_vm.selected_output_id == "sd15"


def test_a_broken_profile_lists_its_problems_and_changes_nothing(
    shell: Shell, qtbot: Any, tmp_path: Path, store: SettingsStore
) -> None:
    panel = _panel(shell)
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "format": "ai4artsed-desktop-lesson-profile",
                "schema_version": 1,
                "name": 5,
                "allowed_configs": ["no_such_config"],
                "allowed_outputs": [],
                "safety_level": "chaos",
                "ui_mode": "youth",
            }
        ),
        "utf-8",
    )
    before = store.current
    panel.ask_import_path = lambda: broken
    panel.import_button.click()
    qtbot.waitUntil(lambda: panel.profile_problems.isVisible())
    lines = panel.profile_problems.text().splitlines()
    # The teacher reads every problem in the UI language (German here) ...
    assert lines[0] == "broken.json kann nicht verwendet werden; nichts wurde geändert:"
    german = {
        "broken.json (Feld „name“): Erwartet wird ein Text, gefunden wurde die Zahl 5.",
        "broken.json (Feld „allowed_configs[0]“): "
        "Auf diesem Computer gibt es keine Regel „no_such_config“.",
        "broken.json (Feld „safety_level“): „chaos“ ist keiner der erlaubten Werte: "
        "kids, youth, adult, research.",
        "broken.json (Feld „retention_days“): Dieses Feld fehlt.",
    }
    assert german <= set(lines)
    assert store.current == before
    assert shell.window.profile_label.isHidden()
    # ... and again in English after a switch (the problems are kept, not their words).
    shell.translator.set_language("en")
    lines = panel.profile_problems.text().splitlines()
    assert lines[0] == "broken.json cannot be used; nothing was changed:"
    english = {
        "broken.json (field “name”): Expected a text, found the number 5.",
        "broken.json (field “allowed_configs[0]”): There is no rule “no_such_config” on this "
        "computer.",
        "broken.json (field “retention_days”): This field is missing.",
    }
    assert english <= set(lines)
    assert not german & set(lines)


def test_the_last_output_cannot_be_unticked(shell: Shell, store: SettingsStore) -> None:
    """No ticks would mean "everything allowed": the last tick stays, with a message."""
    panel = _panel(shell)
    _uncheck_all_but(panel.outputs_list, set())
    assert panel.profile_problems.text() == "Hake mindestens eine Regel und eine Ausgabe an."
    kept = checked_ids(panel.outputs_list)
    assert len(kept) == 1
    assert store.current.lesson.allowed_outputs == tuple(kept)


def test_prepare_lesson_is_unavailable_without_run_services(shell: Shell) -> None:
    panel = _panel(shell)
    assert not panel.start_button.isEnabled()
    assert not panel.release_button.isEnabled()
    assert panel.warmup_hint.text().startswith("Nicht verfügbar")
    ids = [
        panel.warmup_list.item(r).data(Qt.ItemDataRole.UserRole)
        for r in range(panel.warmup_list.count())
    ]
    assert "sd15" in ids
    assert "p5js" not in ids


def test_ticks_apply_at_once_and_the_profile_can_be_switched_off(
    shell: Shell, qtbot: Any, store: SettingsStore
) -> None:
    panel = _panel(shell)
    assert panel.switch_off_button.isHidden()  # nothing to switch off yet
    everything = {c.id for c in shell.create_vm.visible_configs}
    _uncheck_all_but(panel.configs_list, {"bauhaus", "dada"})
    assert set(store.current.lesson.allowed_configs) == {"bauhaus", "dada"}
    assert {c.id for c in shell.create_vm.visible_configs} == {"bauhaus", "dada"}
    assert store.current.lesson.profile_name == "Unterricht"  # restricted: a name shows it
    assert shell.window.profile_label.text() == "Profil: Unterricht"
    assert not panel.switch_off_button.isHidden()
    # Unticking the last rule would mean "all rules": refused, its tick comes back.
    _uncheck_all_but(panel.configs_list, {"dada"})
    dada = next(
        panel.configs_list.item(r)
        for r in range(panel.configs_list.count())
        if panel.configs_list.item(r).data(Qt.ItemDataRole.UserRole) == "dada"
    )
    dada.setCheckState(Qt.CheckState.Unchecked)
    assert panel.profile_problems.text() == "Hake mindestens eine Regel und eine Ausgabe an."
    assert store.current.lesson.allowed_configs == ("dada",)
    assert dada.checkState() == Qt.CheckState.Checked
    # A new name applies when the field is left.
    panel.name_edit.setText("Kunst 5a")
    panel.name_edit.editingFinished.emit()
    _uncheck_all_but(panel.configs_list, {"dada"})
    assert store.current.lesson.profile_name == "Kunst 5a"
    assert shell.window.profile_label.text() == "Profil: Kunst 5a"

    panel.switch_off_button.click()
    assert store.current.lesson == LessonSettings()
    assert {c.id for c in shell.create_vm.visible_configs} == everything
    assert shell.window.profile_label.isHidden()
    assert panel.active_label.text() == "Kein Profil aktiv: alles ist erlaubt."
    assert panel.profile_message.text() == "Profil ausgeschaltet: alles ist wieder erlaubt."
    assert panel.switch_off_button.isHidden()
    assert len(checked_ids(panel.configs_list)) == panel.configs_list.count()  # ticks follow
    assert panel.name_edit.text() == ""


def test_ticks_keep_the_lessons_model_bundle_and_switching_off_ends_it(
    shell: Shell, qtbot: Any, store: SettingsStore
) -> None:
    shell.settings_vm.apply(
        {"lesson.bundle_location": "E:/bundle", "lesson.bundle_key": "AAAA-" * 7 + "AAAA"}
    )
    panel = _panel(shell)
    _uncheck_all_but(panel.configs_list, {"bauhaus", "dada"})
    assert store.current.lesson.bundle_location == "E:/bundle"
    assert set(store.current.lesson.allowed_configs) == {"bauhaus", "dada"}
    panel.switch_off_button.click()
    assert store.current.lesson == LessonSettings()
