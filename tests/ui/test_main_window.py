"""The shell: window, pages, navigation, language switch, demo badge, log folder."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from ai4artsed_desktop.content.schema import ContentLibrary, ContentProblem
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import load_catalogue
from ai4artsed_desktop.ui.main_window import PAGE_IDS
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell, build_shell

from .helpers import run


def test_window_has_title_five_pages_and_fits_small_screens(shell: Shell) -> None:
    window = shell.window
    assert window.windowTitle() == "AI4ArtsEd Desktop"
    assert window.stack.count() == 5
    assert [window.nav.item(i).data(Qt.ItemDataRole.UserRole) for i in range(5)] == list(PAGE_IDS)
    assert window.minimumWidth() <= 1366
    assert window.minimumHeight() <= 768
    assert window.current_page == "create"


def test_ctrl_number_shortcuts_switch_pages(shell: Shell, qtbot: Any) -> None:
    window = shell.window
    for number, page_id in enumerate(PAGE_IDS, start=1):
        action = window.page_actions[number - 1]
        assert action.shortcut().toString() == f"Ctrl+{number}"
        action.trigger()
        assert window.current_page == page_id
        assert window.stack.currentWidget() is window.pages[page_id]


def test_navigation_list_switches_pages(shell: Shell) -> None:
    shell.window.nav.setCurrentRow(2)
    assert shell.window.current_page == "training"


def test_demo_badge_visible_only_in_demo(shell: Shell) -> None:
    assert shell.window.demo_badge.isVisible()
    assert shell.window.demo_badge.text() == "Demo-Backends (keine KI)"


def test_open_log_folder_opens_the_log_dir(
    shell: Shell, app_paths: AppPaths, opened_folders: list[Path]
) -> None:
    shell.window.log_button.click()
    shell.window.open_log_action.trigger()
    assert opened_folders == [app_paths.log_dir, app_paths.log_dir]


def test_close_asks_the_app_to_quit_when_connected(shell: Shell, qtbot: Any) -> None:
    with qtbot.waitSignal(shell.window.close_requested, timeout=1000):
        shell.window.close()
    assert shell.window.isVisible()  # the app hides it after its asynchronous shutdown


def _visible_texts(root: QWidget) -> list[str]:
    texts = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QGroupBox):
            texts.append(widget.title())
    return [t for t in texts if t]


def test_language_switch_updates_widgets_content_and_is_saved(
    shell: Shell, qtbot: Any, store: SettingsStore
) -> None:
    window = shell.window
    page = window.pages["create"]
    shell.create_vm.choose_config("fairy_tale")
    assert page.rules_edit.toPlainText() == "Erzähle die Idee als Märchen."  # type: ignore[attr-defined]
    assert page.idea_heading.text() == "Deine Idee (WAS)"  # type: ignore[attr-defined]

    window.language_combo.setCurrentIndex(window.language_combo.findData("en"))

    assert shell.translator.language == "en"
    assert page.idea_heading.text() == "Your idea (WHAT)"  # type: ignore[attr-defined]
    assert page.rules_heading.text() == "Rules (HOW)"  # type: ignore[attr-defined]
    assert page.rules_edit.toPlainText() == "Tell the idea as a fairy tale."  # type: ignore[attr-defined]
    model = page.picker.model  # type: ignore[attr-defined]
    names = [model.index(r).data() for r in range(model.rowCount())]
    assert "Fairy tale" in names
    assert window.nav.item(0).text() == "Create"
    saved = json.loads(store.path.read_text(encoding="utf-8"))
    assert saved["ui"]["language"] == "en"
    settings_combo = window.pages["settings"].editors["ui.language"].widget  # type: ignore[attr-defined]
    assert settings_combo.currentData() == "en"


def test_no_english_text_remains_in_german_mode(shell: Shell, qtbot: Any) -> None:
    window = shell.window
    window.language_combo.setCurrentIndex(window.language_combo.findData("en"))
    window.language_combo.setCurrentIndex(window.language_combo.findData("de"))
    en, de = load_catalogue("en"), load_catalogue("de")
    # Texts that differ between the catalogues must not appear in their English form.
    english_only = {en[k] for k in en if en[k] != de[k]}
    shown = set(_visible_texts(window))
    leftovers = sorted(shown & english_only)
    assert not leftovers, leftovers
    assert de["create.idea_heading"] in shown
    assert de["settings.section.safety"] in shown


def test_every_focusable_control_has_an_accessible_name(shell: Shell) -> None:
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

    unnamed = []
    for page_id in PAGE_IDS:
        shell.window.show_page(page_id)
        for widget in shell.window.findChildren(QWidget):
            if widget.focusPolicy() == Qt.FocusPolicy.NoFocus or not widget.isVisibleTo(
                shell.window
            ):
                continue
            parent = widget.parentWidget()
            if isinstance(parent, QAbstractSpinBox | QComboBox):
                continue  # the inner line edit of a spin box or combo box
            if widget.metaObject().className() in ("QScrollArea", "QStackedWidget"):
                continue
            if not widget.accessibleName():
                unnamed.append(
                    f"{page_id}: {widget.metaObject().className()} {widget.objectName()}"
                )
    assert not unnamed, unnamed


def test_create_page_tab_order(shell: Shell) -> None:
    page: Any = shell.window.pages["create"]
    order = [page.idea_edit, page.rules_edit, page.picker.category_combo, page.picker.search_edit]
    for current, expected in itertools.pairwise(order):
        assert _next_tab_stop(current) is expected, _next_tab_stop(current).accessibleName()


def _next_tab_stop(widget: QWidget) -> QWidget:
    """What Tab moves to: the next visible, enabled widget that accepts tab focus."""
    nxt = widget.nextInFocusChain()
    assert nxt is not None
    while not (nxt.focusPolicy() & Qt.FocusPolicy.TabFocus and nxt.isVisible() and nxt.isEnabled()):
        nxt = nxt.nextInFocusChain()
        assert nxt is not None
    return nxt


@pytest.fixture
def shell_with_content_problems(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    fake_gpu: FakeGpuProvider,
) -> Any:
    problems = (
        ContentProblem("providers.json", "[4].base_ulr", "Unknown key, ignored.", used=True),
        ContentProblem("interception/x.json", "", "The file is not valid JSON.", used=False),
    )
    tasks = TaskRegistry("test")
    built = build_shell(
        paths=app_paths, store=store, content=dataclasses.replace(content, problems=problems),
        gpu=fake_gpu, tasks=tasks, demo=True,
    )  # fmt: skip
    qtbot.addWidget(built.window)
    built.window.resize(1366, 768)
    built.window.show()
    yield built
    run(qtbot, built.shutdown())
    run(qtbot, tasks.cancel_all())


def test_content_problems_are_shown_to_the_teacher_in_settings(
    shell_with_content_problems: Shell,
) -> None:
    """Skipped content entries and unknown (misspelt) keys are not only in the log."""
    page = shell_with_content_problems.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    assert not page.banner.isHidden()
    text = page.banner.message_label.text() + page.banner.message_label.toolTip()
    assert "1 Einträge übersprungen, 1 unbekannte Schlüssel" in text
    assert "[4].base_ulr" in page.banner.detail
    shell_with_content_problems.translator.set_language("en")  # the banner follows
    assert "1 entries skipped, 1 unknown keys ignored" in page.banner.message
    assert "[4].base_ulr" in page.banner.detail


def test_a_refused_setting_is_told_outside_settings_and_reworded_on_a_switch(
    shell_with_content_problems: Shell,
) -> None:
    shell = shell_with_content_problems
    shell.window.show_page("create")
    assert not shell.settings_vm.set_value("comfyui.port", -5)
    banner = shell.window.banner
    assert banner.isVisible()
    assert banner.message.startswith("Diese Einstellungen wurden nicht gespeichert")
    assert "Port: -5" in banner.message  # the field's label and the refused value
    shell.translator.set_language("en")
    assert banner.message.startswith("These settings were not saved")
    assert "Port: -5" in banner.message
