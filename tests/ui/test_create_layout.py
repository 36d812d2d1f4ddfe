"""Create page polish: accessible names, tab order, the layout at 1366 × 768."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollArea,
    QScrollBar,
    QWidget,
)

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.create_page import CreatePage
from ai4artsed_desktop.ui.shell import Shell
from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
from ai4artsed_desktop.ui.viewmodels.run_vm import RunViewModel
from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel

from .helpers import combo_text_width, open_shell

CONTENT = load_content(resources_dir() / "configs")

#: What the main window leaves a page at 1366 × 768 is less; the header and status bar
#: take about 110 px, so the page must work at this height.
PAGE_SIZE = (1366 - 200, 768 - 110)
#: A 4K screen scaled to 200 % is 1920 × 1080 logical pixels. Qt's scale factor is fixed per
#: process, so ``test_layout_on_a_scaled_4k_screen`` reruns this module's layout test in a
#: child process with QT_SCALE_FACTOR=2.
SCALED = os.environ.get("QT_SCALE_FACTOR") == "2"
if SCALED:
    PAGE_SIZE = (1920 - 200, 1080 - 110)


@pytest.fixture
def settings_vm(qapp: Any, store: SettingsStore, translator: Translator) -> SettingsViewModel:
    vm = SettingsViewModel(store, translator)
    vm.language_changed.connect(translator.set_language)
    return vm


@pytest.fixture
def page(settings_vm: SettingsViewModel, translator: Translator, qtbot: Any) -> CreatePage:
    create_vm = CreateViewModel(CONTENT, settings_vm)
    run_vm = RunViewModel(create_vm, settings_vm, None)
    widget = CreatePage(
        create_vm,
        translator,
        resources_dir() / "icons" / "configs",
        resources_dir() / "icons" / "app" / "rule.svg",
        run_vm=run_vm,
    )
    qtbot.addWidget(widget)
    widget.resize(*PAGE_SIZE)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _focusable(page: QWidget) -> list[QWidget]:
    """Every control the Tab key can reach (a spin box's inner line edit is the box itself)."""
    found = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisibleTo(page) or not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if isinstance(widget, QScrollBar) or isinstance(widget.parentWidget(), QAbstractSpinBox):
            continue
        found.append(widget)
    return found


@pytest.mark.parametrize("mode", ["kids", "youth", "expert"])
def test_every_control_has_an_accessible_name(
    page: CreatePage, settings_vm: SettingsViewModel, mode: str
) -> None:
    assert settings_vm.set_value("ui.ui_mode", mode)
    controls = _focusable(page)
    assert len(controls) >= 8
    unnamed = [
        f"{type(w).__name__}:{w.objectName()}" for w in controls if not w.accessibleName().strip()
    ]
    assert unnamed == []
    for language in ("en", "de"):  # and in both languages
        assert settings_vm.set_value("ui.language", language)
        assert all(w.accessibleName().strip() for w in controls)


def test_tab_order_follows_the_work(page: CreatePage, settings_vm: SettingsViewModel) -> None:
    assert settings_vm.set_value("ui.ui_mode", "expert")
    panel = page.run_panel
    assert panel is not None
    chain = page.focus_chain()
    for first, second in itertools.pairwise(chain):
        QWidget.setTabOrder(first, second)
    order = [
        page.idea_edit,
        page.rules_edit,
        page.picker.view,
        panel.outputs.tiles[0],
        panel.expert_panel.steps_spin,
        panel.transform_button,
        panel.interception_edit,
        panel.generate_button,
        panel.cancel_button,
    ]
    positions = [chain.index(widget) for widget in order]
    assert positions == sorted(positions)
    # Qt's own chain agrees: Tab from the transform button goes to the transformed text.
    after = panel.transform_button.nextInFocusChain()
    while not after.focusPolicy() & Qt.FocusPolicy.TabFocus:  # frames and labels: no stop
        after = after.nextInFocusChain()
    assert after is panel.interception_edit
    # And the column shows them top to bottom in the same order.
    tops = [w.mapTo(panel.steps, QPoint(0, 0)).y() for w in order[3:] if w.isVisibleTo(panel.steps)]
    assert tops == sorted(tops)


@pytest.mark.parametrize("mode", ["kids", "expert"])
def test_generate_is_reachable_at_1366x768(
    page: CreatePage, settings_vm: SettingsViewModel, qtbot: Any, mode: str
) -> None:
    assert settings_vm.set_value("ui.ui_mode", mode)
    panel = page.run_panel
    assert panel is not None
    assert page.devicePixelRatioF() == (2.0 if SCALED else 1.0)
    assert page.minimumSizeHint().width() <= PAGE_SIZE[0]
    assert page.minimumSizeHint().height() <= PAGE_SIZE[1]
    scroll = page.findChild(QScrollArea, "stepsScroll")
    assert scroll is not None
    for widget in (panel.generate_button, panel.cancel_button, panel.interception_edit):
        scroll.ensureWidgetVisible(widget)
        qtbot.waitUntil(lambda w=widget: not w.visibleRegion().isEmpty())
        top_left = widget.mapTo(scroll.viewport(), QPoint(0, 0))
        assert scroll.viewport().rect().contains(top_left)
        assert widget.visibleRegion().boundingRect().width() == widget.width()  # not cut off
    # Nothing is cut off at the right: the column fits its width (it scrolls only down).
    column = scroll.widget()
    assert column.minimumSizeHint().width() <= scroll.viewport().width()
    assert column.width() <= scroll.viewport().width()
    for widget in panel.expert_panel.focus_chain() + panel.outputs.focus_chain():
        if widget.isVisibleTo(panel.steps):
            right = widget.mapTo(scroll.viewport(), QPoint(widget.width(), 0)).x()
            assert right <= scroll.viewport().width(), widget.accessibleName()
    # Every box shows its whole current text ("1024 × 1024 · Quadrat (Standard)" too).
    for language in ("de", "en"):
        assert settings_vm.set_value("ui.language", language)
        QApplication.processEvents()  # the posted layout requests
        combos = [c for c in column.findChildren(QComboBox) if c.isVisibleTo(column)]
        assert combos or mode == "kids"
        for combo in combos:
            chosen = combo.currentIndex()
            for index in range(combo.count()):
                combo.setCurrentIndex(index)
                QApplication.processEvents()
                needed = combo_text_width(combo)
                assert combo.width() >= needed - 1, (combo.currentText(), combo.width(), needed)
            combo.setCurrentIndex(chosen)
    # The result takes at least half the window, in full view (it never scrolls away).
    assert panel.width() >= page.window().width() // 2
    assert panel.visibleRegion().boundingRect() == panel.rect()
    assert panel.result_view.height() >= PAGE_SIZE[1] // 2
    # The left column keeps the editors usable.
    assert page.idea_edit.height() >= 90
    assert page.idea_edit.width() >= 250
    assert page.picker.view.height() >= 120
    assert not page.safety_label.visibleRegion().isEmpty()


@pytest.mark.skipif(SCALED, reason="this is the child process itself")
def test_layout_on_a_scaled_4k_screen(tmp_path: Path) -> None:
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "reachable"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout


def _wheel(widget: QWidget, down: bool = True) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, -120 if down else 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_box_scrolls_the_column_unless_the_box_is_being_read(
    page: CreatePage, qtbot: Any
) -> None:
    bar = page.steps_scroll.verticalScrollBar()
    assert bar.maximum() > 0
    page.picker.search_edit.setFocus()
    page.idea_edit.setPlainText("\n".join(f"Zeile {i}" for i in range(40)))
    _wheel(page.idea_edit.viewport())
    assert bar.value() > 0  # the unfocused box did not swallow the wheel
    bar.setValue(0)
    page.idea_edit.setFocus()
    qtbot.waitUntil(page.idea_edit.hasFocus)
    inner = page.idea_edit.verticalScrollBar()
    _wheel(page.idea_edit.viewport())
    assert inner.value() > 0  # the box being read scrolls itself
    assert bar.value() == 0
    inner.setValue(inner.maximum())
    _wheel(page.idea_edit.viewport())
    assert bar.value() > 0  # at its end the column goes on


def test_the_seed_and_negative_prompt_show_their_beginning_in_the_window(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    fake_gpu: FakeGpuProvider,
) -> None:
    """At 1366 x 768 (the demo window, built-in content, German): a whole 32-bit seed fits
    its field beside "Seed festhalten", and both fields show their text's beginning."""
    real = load_content(resources_dir() / "configs", None)
    with open_shell(
        qtbot, paths=app_paths, store=store, content=real, gpu=fake_gpu, demo=True
    ) as shell:
        _seed_and_negative_prompt(shell)


def _seed_and_negative_prompt(shell: Shell) -> None:
    assert shell.settings_vm.set_value("ui.language", "de")
    assert shell.settings_vm.set_value("ui.ui_mode", "expert")
    run_vm = shell.run_vm
    assert run_vm is not None
    seeded = [
        c.output.id
        for c in run_vm.outputs
        if c.runnable
        and run_vm.select_output(c.output.id)
        and {"seed", "negative"} <= run_vm.params.params
    ]
    assert seeded, [c.output.id for c in run_vm.outputs]
    assert run_vm.select_output(seeded[0])
    run_vm.params.set_seed(4294967295)
    run_vm.params.set_value("negative", "blurry, deformed, extra limbs, watermark, signature")
    shell.window.show_page("create")
    page = shell.window.pages["create"]
    assert isinstance(page, CreatePage)
    assert page.run_panel is not None
    expert = page.run_panel.expert_panel
    QApplication.processEvents()
    assert expert.seed_edit.text() == "4294967295"
    needed = expert.seed_edit.fontMetrics().horizontalAdvance("4294967295")
    assert expert.seed_edit.width() >= needed + 8, (expert.seed_edit.width(), needed)
    assert expert.seed_edit.cursorPosition() == 0
    assert expert.negative_edit.text().startswith("blurry")
    assert expert.negative_edit.cursorPosition() == 0
