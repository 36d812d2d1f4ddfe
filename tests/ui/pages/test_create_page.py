"""Create page: idea and rules editors bound to the view-model, picker fills the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


@pytest.fixture
def vm(content: ContentLibrary, settings_vm: SettingsViewModel) -> CreateViewModel:
    return CreateViewModel(content, settings_vm)


@pytest.fixture
def page(vm: CreateViewModel, translator: Translator, qtbot: Any, tmp_path: Path) -> CreatePage:
    widget = CreatePage(vm, translator, tmp_path, resources_dir() / "icons" / "app" / "rule.svg")
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    return widget


def test_headings_and_teaching_placeholders(page: CreatePage) -> None:
    assert page.idea_heading.text() == "Deine Idee (WAS)"
    assert page.rules_heading.text() == "Regeln (WIE)"
    assert "Wähle unten eine Regel" in page.rules_edit.placeholderText()
    assert page.rules_hint.text().startswith("„Deine Wahl“")
    assert page.idea_edit.accessibleName() == "Deine Idee"
    assert page.rules_edit.accessibleName() == "Regeln"


def test_typing_the_idea_reaches_the_view_model(
    page: CreatePage, vm: CreateViewModel, qtbot: Any
) -> None:
    qtbot.keyClicks(page.idea_edit, "Ein Wal im Wald")
    assert vm.idea == "Ein Wal im Wald"


def test_choosing_a_card_fills_the_rules_and_edits_are_kept(
    page: CreatePage, vm: CreateViewModel, settings_vm: SettingsViewModel, qtbot: Any
) -> None:
    qtbot.keyClicks(page.idea_edit, "Ein Wal")
    view = page.picker.view
    view.setFocus()
    view.setCurrentIndex(page.picker.model.index(2))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert page.rules_edit.toPlainText() == "Erzähle die Idee als Märchen."
    assert page.rules_hint.text() == "Regeln von „Märchen“. Ändere sie, wie du willst."
    page.rules_edit.moveCursor(page.rules_edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(page.rules_edit, " Mit Drachen.")
    assert vm.rules == "Erzähle die Idee als Märchen. Mit Drachen."
    settings_vm.set_value("ui.language", "en")
    assert page.rules_edit.toPlainText() == "Erzähle die Idee als Märchen. Mit Drachen."
    assert page.idea_edit.toPlainText() == "Ein Wal"
    assert page.rules_heading.text() == "Rules (HOW)"


def test_replaced_rules_can_be_undone(page: CreatePage, vm: CreateViewModel, qtbot: Any) -> None:
    qtbot.keyClicks(page.rules_edit, "Meine Regeln")
    vm.choose_config("bauhaus")
    assert page.rules_edit.toPlainText().startswith("Zerlege")
    page.rules_edit.undo()
    assert page.rules_edit.toPlainText() == "Meine Regeln"
    assert vm.rules == "Meine Regeln"
