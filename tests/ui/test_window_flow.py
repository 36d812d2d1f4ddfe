"""The real window, driven like a student does it: mouse clicks and keys (in-process QTest).

Idea typed, a rule card clicked, the picture tile clicked, Transform clicked, the
transformed text changed by keyboard, another output clicked, Generate clicked: the result
is in view without scrolling, the edit is what ran, History lists both runs (the first one
"stopped", with the edit), and the language switch by keyboard changes the window at once.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget
from pytestqt.exceptions import TimeoutError as QtTimeout

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.pages.create_page import CreatePage, RunPanel
from ai4artsed_desktop.ui.pages.history_page import HistoryPage
from ai4artsed_desktop.ui.shell import Shell, build_shell
from ai4artsed_desktop.ui.widgets.config_model import ConfigIdRole

from .backend_helpers import START_TIMEOUT_MS
from .create_rig import CONTENT, RUN_TIMEOUT_MS
from .helpers import combo_text_width, run

CTRL = Qt.KeyboardModifier.ControlModifier
EDIT = "Ein roter Fuchs aus Papier"


@pytest.fixture
def window_shell(
    qtbot: Any,
    app_paths: AppPaths,
    demo_store: SettingsStore,
    demo_manager: BackendManager,
    fake_gpu: FakeGpuProvider,
) -> Iterator[tuple[Shell, RunStore]]:
    runs = RunStore(app_paths.runs_dir)
    services = build_services(
        backends=demo_manager,
        content=CONTENT,
        settings=lambda: demo_store.current,
        store=runs,
        workflows_dir=resources_dir() / "workflows",
    )
    tasks = TaskRegistry("window-flow")
    shell = build_shell(
        paths=app_paths,
        store=demo_store,
        content=CONTENT,
        gpu=fake_gpu,
        tasks=tasks,
        manager=demo_manager,
        services=services,
    )
    qtbot.addWidget(shell.window)
    shell.window.resize(1366, 768)
    shell.window.show()
    qtbot.waitExposed(shell.window)
    try:
        yield shell, runs
    finally:
        run(qtbot, shell.shutdown(), timeout=START_TIMEOUT_MS)
        run(qtbot, services.providers.aclose())
        run(qtbot, tasks.cancel_all())
        runs.close()
        gc.collect()


def _click(qtbot: Any, widget: QWidget) -> None:
    """Scroll the widget into view if a scroll area holds it, then click its middle."""
    page = widget.window().findChild(CreatePage)
    if page is not None and page.steps_scroll.isAncestorOf(widget):
        page.show_in_steps(widget)
    qtbot.waitUntil(lambda: not widget.visibleRegion().isEmpty())
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def _fully_visible(widget: QWidget) -> bool:
    """The whole widget is on screen: not cut by a scroll area or the window's edge."""
    window = widget.window()
    top_left = widget.mapTo(window, QPoint(0, 0))
    inside = window.rect().contains(top_left) and window.rect().contains(
        top_left + QPoint(widget.width() - 1, widget.height() - 1)
    )
    return inside and widget.visibleRegion().boundingRect() == widget.rect()


def test_a_student_goes_through_the_whole_flow_with_mouse_and_keys(
    window_shell: tuple[Shell, RunStore], qtbot: Any
) -> None:
    shell, runs = window_shell
    window = shell.window
    page = window.pages["create"]
    assert isinstance(page, CreatePage)
    panel = page.run_panel
    assert isinstance(panel, RunPanel)
    vm = shell.run_vm
    assert vm is not None

    _click(qtbot, page.idea_edit)
    qtbot.keyClicks(page.idea_edit, "Ein Fuchs im Schnee")
    view = page.picker.view
    row = page.picker.model.row_of("bauhaus")
    rect = view.visualRect(page.picker.model.index(row))
    view.scrollTo(page.picker.model.index(row))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert shell.create_vm.selected_config_id == "bauhaus"
    assert page.picker.model.index(row).data(ConfigIdRole) == "bauhaus"
    picture = panel.outputs.tile_for("sd15")
    assert picture is not None
    _click(qtbot, picture)
    assert vm.selected_output_id == "sd15"

    _click(qtbot, panel.transform_button)
    qtbot.waitUntil(lambda: not vm.busy, timeout=RUN_TIMEOUT_MS)
    assert vm.phase.value == "transformed", panel.message
    # The new text and the next step came into view by themselves.
    assert _fully_visible(panel.interception_card)
    assert _fully_visible(panel.generate_button)
    assert vm.session is not None
    first = vm.session.run_id

    _click(qtbot, panel.interception_edit)
    qtbot.keyClick(panel.interception_edit, Qt.Key.Key_A, CTRL)
    qtbot.keyClicks(panel.interception_edit, EDIT)
    other = panel.outputs.tile_for("sdxl")
    assert other is not None
    _click(qtbot, other)
    assert vm.selected_output_id == "sdxl"
    _click(qtbot, panel.generate_button)
    qtbot.waitUntil(lambda: not vm.busy, timeout=RUN_TIMEOUT_MS)
    assert vm.phase.value == "done", panel.message

    # The result is large and in view without scrolling.
    result = panel.result_view
    assert not result.image.isNull()
    assert _fully_visible(panel)
    assert panel.width() >= window.width() // 2
    label, shown = result.image_label, result.image_label.pixmap()
    assert label.width() >= window.width() // 2 - 60  # the picture's room: half the window
    assert shown.width() >= label.width() - 1 or shown.height() >= label.height() - 1  # fitted
    assert panel.interception_edit.toPlainText() == EDIT
    assert vm.session is not None
    record = json.loads((runs.folder(vm.session.run_id) / "run.json").read_text("utf-8"))
    assert record["inputs"]["output_id"] == "sdxl"
    interception = next(s for s in record["stages"] if s["stage"] == "interception")
    assert interception["edited_text"] == EDIT

    # History: the left run says "stopped" at once and keeps the edit.
    nav = window.nav
    history_row = nav.visualItemRect(nav.item(1))
    qtbot.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=history_row.center())
    assert window.current_page == "history"
    history = window.pages["history"]
    assert isinstance(history, HistoryPage)
    assert shell.history_vm is not None
    qtbot.waitUntil(lambda: len(shell.history_vm.rows) >= 2, timeout=RUN_TIMEOUT_MS)
    left = runs.load(first)
    assert left.status == "stopped"
    assert left.stages[0].edited_text == EDIT

    # Language by keyboard: the window speaks English at once.
    combo = window.language_combo
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert shell.translator.language == "en"
    assert nav.item(0).text() == "Create"
    assert panel.result_heading.text() == "Result"


def _too_small(widget: QWidget) -> bool:
    """A label, button or combo box with less room than its text needs (cut off or elided)."""
    if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
        if widget.wordWrap():
            return widget.height() < widget.heightForWidth(widget.width()) - 1
        return widget.width() < widget.sizeHint().width() - 1
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.width() < widget.sizeHint().width() - 1
    if isinstance(widget, QComboBox) and widget.currentText():
        return widget.width() < combo_text_width(widget) - 1
    return False


def _text(widget: QWidget) -> str:
    return widget.currentText() if isinstance(widget, QComboBox) else widget.text()  # type: ignore[attr-defined, no-any-return]


def _cut_texts(root: QWidget) -> list[str]:
    """Visible labels, buttons and combo boxes too small for their (current) text."""
    return [
        f"{type(w).__name__} {_text(w)!r} {w.size().toTuple()}"
        for w in root.findChildren(QWidget)
        if w.isVisible() and not w.visibleRegion().isEmpty() and _too_small(w)
    ]


@pytest.mark.parametrize("size", [(1100, 680), (1366, 768)])
@pytest.mark.parametrize("mode", ["kids", "expert"])
def test_no_text_is_cut_in_a_small_window(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    fake_gpu: FakeGpuProvider,
    mode: str,
    size: tuple[int, int],
) -> None:
    """At 1100 x 680 and 1366 x 768 every label, button and combo box (the expert's size
    box too) has the room its text needs."""
    tasks = TaskRegistry("small-window")
    shell = build_shell(
        paths=app_paths, store=store, content=CONTENT, gpu=fake_gpu, tasks=tasks, demo=True
    )
    qtbot.addWidget(shell.window)
    shell.window.resize(*size)
    shell.window.show()
    qtbot.waitExposed(shell.window)
    assert shell.settings_vm.set_value("ui.ui_mode", mode)
    shell.create_vm.choose_config("bauhaus")
    page = shell.window.pages["create"]
    assert isinstance(page, CreatePage)
    assert page.run_panel is not None
    try:
        for language in ("de", "en"):
            assert shell.settings_vm.set_value("ui.language", language)
            size_box = page.run_panel.expert_panel.size_combo
            steps = (page.idea_edit, page.run_panel.outputs, size_box, page.run_panel.prompt_card)
            for widget in steps:
                page.show_in_steps(widget)  # down the steps column, a screen at a time
                with contextlib.suppress(QtTimeout):  # layouts settle on the next loop turns
                    qtbot.waitUntil(lambda: not _cut_texts(shell.window), timeout=2000)
                found = _cut_texts(shell.window)
                assert not found, f"{mode}/{language}: {found}"
                if widget is size_box and mode == "expert":  # every size, not just one
                    assert not size_box.visibleRegion().isEmpty()
                    chosen = size_box.currentIndex()
                    for index in range(size_box.count()):
                        size_box.setCurrentIndex(index)
                        with contextlib.suppress(QtTimeout):
                            qtbot.waitUntil(lambda: not _cut_texts(shell.window), timeout=2000)
                        assert not _cut_texts(shell.window), size_box.currentText()
                    size_box.setCurrentIndex(chosen)
    finally:
        run(qtbot, shell.shutdown())
        run(qtbot, tasks.cancel_all())
