"""Every string in the window follows the language switch at once.

The walk reads every widget of the window, shown or hidden: texts, titles, placeholders,
tooltips, accessible names and descriptions, combo and list entries, tab titles and the
rows of item views. A string that exists only in the other language's catalogue (or in the
other language of the content: rule, output and category names) fails the test. Language
names are the exception: each is written in its own language ("Deutsch", "English") so that
a child who switched by mistake finds the way back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.models.bundle import BundleError
from ai4artsed_desktop.models.download import DownloadError
from ai4artsed_desktop.store.folders import write_error
from ai4artsed_desktop.ui.i18n import load_catalogue
from ai4artsed_desktop.ui.main_window import LANGUAGE_NAMES
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.widgets.bundle_box import BundleBox
from ai4artsed_desktop.ui.widgets.models_panel import ModelsPanel

from .create_rig import Rig, wait_idle

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
MAX_ROWS = 300


def _model_texts(view: QAbstractItemView) -> Iterator[str]:
    model = view.model()
    if model is None:
        return

    def walk(parent: QModelIndex) -> Iterator[str]:
        listed = isinstance(model, QAbstractListModel)  # its columnCount is private in PySide
        columns = 1 if listed else model.columnCount(parent)
        for row in range(min(model.rowCount(parent), MAX_ROWS)):
            for column in range(columns):
                index = model.index(row, column, parent)
                for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                    value = index.data(role)
                    if isinstance(value, str):
                        yield value
                if column == 0 and not listed and model.hasChildren(index):
                    yield from walk(index)

    yield from walk(QModelIndex())


def _own_texts(widget: QWidget) -> list[str]:
    """The texts a widget of this kind shows itself (label, title, entries ...)."""
    texts: list[str] = []
    if widget.isWindow():
        texts.append(widget.windowTitle())
    if isinstance(widget, QLabel | QAbstractButton):
        texts.append(widget.text())
    if isinstance(widget, QGroupBox):
        texts.append(widget.title())
    if isinstance(widget, QLineEdit | QPlainTextEdit | QTextEdit):
        texts.append(widget.placeholderText())
    if isinstance(widget, QComboBox):
        texts += [widget.itemText(i) for i in range(widget.count())]
    if isinstance(widget, QTabWidget):
        texts += [widget.tabText(i) for i in range(widget.count())]
    if isinstance(widget, QListWidget):
        for i in range(widget.count()):
            texts += [widget.item(i).text(), widget.item(i).toolTip()]
    elif isinstance(widget, QAbstractItemView):
        texts += list(_model_texts(widget))
    return texts


def widget_texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) for every string a widget below ``root`` can show or say."""
    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__}#{widget.objectName()}"
        texts = [
            widget.toolTip(),
            widget.accessibleName(),
            widget.accessibleDescription(),
            widget.statusTip(),
            widget.whatsThis(),
            *_own_texts(widget),
        ]
        for text in texts:
            if text.strip():
                yield where, text


class OtherLanguage:
    """Recognises strings that only the other language has (catalogue and content)."""

    def __init__(self, language: str, content: ContentLibrary) -> None:
        other = "en" if language == "de" else "de"
        mine, theirs = load_catalogue(language), load_catalogue(other)
        own_values = set(mine.values())
        self.exact: set[str] = set()
        self.patterns: list[re.Pattern[str]] = []
        for key, text in theirs.items():
            if text in own_values or text == mine.get(key):
                continue
            literal = PLACEHOLDER.sub("", text)
            if len(re.sub(r"\W", "", literal)) < 4:
                continue  # too little of its own to recognise ("{name} · {media}")
            if PLACEHOLDER.search(text):
                parts = PLACEHOLDER.split(text)
                self.patterns.append(re.compile(".+?".join(re.escape(p) for p in parts), re.S))
            else:
                self.exact.add(text)
        for records in (content.interceptions, content.outputs, content.categories):
            for record in records.values():
                for value in (record.name, getattr(record, "description", None)):
                    if value is None:
                        continue
                    mine_text, their_text = value.get(language), value.get(other)
                    if their_text and their_text != mine_text and their_text not in own_values:
                        self.exact.add(their_text)

    def matches(self, text: str) -> bool:
        candidates = {text, *(line.strip() for line in text.splitlines())}
        candidates -= set(LANGUAGE_NAMES.values())  # each in its own language, on purpose
        for candidate in candidates:
            if candidate in self.exact:
                return True
            if any(p.fullmatch(candidate) for p in self.patterns):
                return True
        return False


def leftovers(shell: Shell, language: str, content: ContentLibrary) -> list[str]:
    other = OtherLanguage(language, content)
    return sorted(
        {f"{where}: {text!r}" for where, text in widget_texts(shell.window) if other.matches(text)}
    )


@pytest.mark.parametrize("mode", ["kids", "expert"])
def test_every_widget_speaks_the_chosen_language_only(
    shell: Shell, content: ContentLibrary, qtbot: Any, mode: str
) -> None:
    settings = shell.settings_vm
    assert settings.set_value("ui.ui_mode", mode)
    for page in ("create", "history", "training", "settings"):
        shell.window.show_page(page)  # every page built and shown once
    for language in ("en", "de", "en"):
        assert settings.set_value("ui.language", language)
        assert shell.translator.language == language
        found = leftovers(shell, language, content)
        assert not found, f"{language}: {found}"
    walked = [text for _where, text in widget_texts(shell.window)]
    assert len(walked) > 300  # the walk really reads the window


def test_the_walk_notices_a_forgotten_string(shell: Shell, content: ContentLibrary) -> None:
    """A label left in English in German mode is found (the check can fail)."""
    assert shell.settings_vm.set_value("ui.language", "de")
    label = QLabel(load_catalogue("en")["create.transform"], shell.window)
    assert leftovers(shell, "de", content) == [f"QLabel#: {label.text()!r}"]
    label.setText(load_catalogue("en")["history.deleted.other"].format(count=4))
    assert leftovers(shell, "de", content) == [f"QLabel#: {label.text()!r}"]
    label.deleteLater()


def test_a_finished_run_switches_language_with_everything_around_it(
    rig: Rig, qtbot: Any, content: ContentLibrary
) -> None:
    """Messages, stage states, badges, tiles and the result say it in the new language."""
    rig.vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Ein Fuchs im Schnee")
    qtbot.mouseClick(rig.panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, rig.vm).value == "transformed"
    qtbot.mouseClick(rig.panel.generate_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, rig.vm).value == "done", rig.panel.message
    for mode in ("kids", "expert"):
        assert rig.settings.set_value("ui.ui_mode", mode)
        for language in ("en", "de"):
            assert rig.settings.set_value("ui.language", language)
            other = OtherLanguage(language, content)
            found = sorted(
                f"{where}: {text!r}"
                for where, text in widget_texts(rig.page)
                if other.matches(text)
            )
            assert not found, f"{mode}/{language}: {found}"
    assert rig.panel.message == load_catalogue("de")["create.done"]


def test_a_block_reason_from_before_the_switch_is_not_shown_in_the_old_language(
    rig: Rig, qtbot: Any
) -> None:
    """The safety check answered in German; in English the message is English, the German
    reason waits under Details (nothing is lost)."""
    assert rig.settings.set_value("safety.level", "adult")
    rig.vm.select_output("sd15")
    qtbot.keyClicks(rig.page.idea_edit, "Wie man eine Rohrbombe baut")
    qtbot.mouseClick(rig.panel.transform_button, Qt.MouseButton.LeftButton)
    assert wait_idle(qtbot, rig.vm).value == "blocked"
    german = rig.panel.message
    assert german.startswith("Gestoppt: ")
    reason = german.removeprefix("Gestoppt: ")
    assert rig.settings.set_value("ui.language", "en")
    assert rig.panel.message == load_catalogue("en")["create.blocked_switched"]
    assert rig.panel.details_button.isVisible()
    assert rig.panel.details_text.toPlainText() == reason
    assert rig.settings.set_value("ui.language", "de")
    assert rig.panel.message == german  # back in the run's language: the reason again


def test_errors_from_the_core_on_history_follow_the_language(
    shell: Shell, content: ContentLibrary
) -> None:
    """An error the store raises (catalogue key + parameters) speaks the UI language, also
    after a switch: the History page keeps the key, not the English text."""
    history = shell.history_vm
    assert history is not None
    shell.window.show_page("history")
    assert shell.settings_vm.set_value("ui.language", "de")
    said: list[tuple[str, dict[str, str]]] = []
    history.message.connect(lambda key, fields: said.append((key, fields)))
    history._report(write_error(OSError(28, "No space left on device"), Path("portfolio")))
    assert said == [("error.disk_full_run", {})]  # the key goes to the page, not English
    for language in ("de", "en", "de"):
        assert shell.settings_vm.set_value("ui.language", language)
        found = leftovers(shell, language, content)
        assert not found, f"{language}: {found}"


def test_model_errors_on_the_models_tab_follow_the_language(
    shell: Shell, content: ContentLibrary
) -> None:
    """A refused download and a refused bundle, said while German, speak each language the
    window switches to: the Models tab and its bundle row keep the error, not its text."""
    models, bundles = shell.models_vm, shell.bundle_vm
    assert models is not None
    assert bundles is not None
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    shell.window.show_page("settings")
    page.show_tab("models")
    panel, box = page.models, page.models.bundle
    assert isinstance(panel, ModelsPanel)
    assert isinstance(box, BundleBox)
    assert shell.settings_vm.set_value("ui.language", "de")
    name = "sd3.5_large_fp8_scaled.safetensors"
    models.error_raised.emit(
        DownloadError(
            f"'{name}' is no longer at its download address (HTTP 404).",
            key="error.models_not_found",
            detail="https://example.org/x: HTTP 404",
            params={"name": name},
        )
    )
    bundles.error_raised.emit(
        BundleError("The bundle was changed after it was signed.", key="error.bundle_tampered")
    )
    for language in ("de", "en", "de"):
        assert shell.settings_vm.set_value("ui.language", language)
        texts = load_catalogue(language)
        assert panel.message.text() == texts["error.models_not_found"].format(name=name)
        assert box.result.text() == texts["error.bundle_tampered"]
        found = leftovers(shell, language, content)
        assert not found, f"{language}: {found}"
