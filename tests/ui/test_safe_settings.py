"""Safe settings: the wheel only scrolls, Save keeps the focus, the window keeps its size,
a damaged settings file is announced and backed up (real widgets, QTest input)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QScrollArea,
    QScrollBar,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell, build_shell
from ai4artsed_desktop.ui.wheel_guard import GUARDED_PROPERTY, guard_wheel
from ai4artsed_desktop.ui.window_geometry import FILE_NAME, write_geometry

from .helpers import run


def _build(qtbot: Any, app_paths: AppPaths, store: SettingsStore, content: Any, gpu: Any) -> Any:
    tasks = TaskRegistry("test")
    built = build_shell(
        paths=app_paths, store=store, content=content, gpu=gpu, tasks=tasks, demo=True
    )
    qtbot.addWidget(built.window)
    return built, tasks


@pytest.fixture
def shell(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    fake_gpu: FakeGpuProvider,
) -> Iterator[Shell]:
    built, tasks = _build(qtbot, app_paths, store, content, fake_gpu)
    built.window.resize(1366, 768)
    built.window.show()
    built.window.activateWindow()
    qtbot.waitUntil(built.window.isActiveWindow)
    yield built
    run(qtbot, built.shutdown())
    run(qtbot, tasks.cancel_all())


def _wheel(widget: QWidget, notches: int) -> None:
    """One real wheel event over the middle of ``widget`` (negative: scroll down)."""
    centre = widget.rect().center()
    event = QWheelEvent(
        QPointF(centre),
        QPointF(widget.mapToGlobal(centre)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def _settings_page(shell: Shell) -> SettingsPage:
    shell.window.show_page("settings")
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    return page


def _scroll_area(widget: QWidget) -> QScrollArea:
    parent = widget.parentWidget()
    while not isinstance(parent, QScrollArea):
        assert parent is not None
        parent = parent.parentWidget()
    return parent


def test_wheel_over_unfocused_settings_scrolls_the_page_and_changes_nothing(
    shell: Shell, qtbot: Any
) -> None:
    page = _settings_page(shell)
    level = page.editors["safety.level"].widget
    retention = page.editors["retention_days"].widget
    assert isinstance(level, QComboBox)
    assert isinstance(retention, QSpinBox)
    shell.window.nav.setFocus()
    qtbot.waitUntil(shell.window.nav.hasFocus)
    bar = _scroll_area(level).verticalScrollBar()
    assert bar.maximum() > 0  # the form is taller than the window: the wheel must scroll it
    level_before, retention_before = level.currentIndex(), retention.value()

    _wheel(level, -1)
    assert level.currentIndex() == level_before
    scrolled = bar.value()
    assert scrolled > 0
    line_edit = retention.findChild(QLineEdit)
    assert line_edit is not None
    _wheel(line_edit, -1)  # the spin box's own line edit is under the mouse
    _wheel(retention, 1)
    assert retention.value() == retention_before
    assert page.changes() == {}

    # A control the user is working with (focused) still takes the wheel.
    level.setFocus()
    qtbot.waitUntil(level.hasFocus)
    _wheel(level, -1)
    assert level.currentIndex() == level_before + 1


def test_guard_covers_sliders_but_not_scroll_bars(qapp: Any, qtbot: Any) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 10)
    area = QScrollArea()
    tall = QWidget()
    tall.setMinimumHeight(2000)
    area.setWidget(tall)
    column = QVBoxLayout(host)
    column.addWidget(slider)
    column.addWidget(area)
    assert guard_wheel(host) == 1  # the slider; not the scroll area's scroll bars
    assert guard_wheel(host) == 0  # guarded once
    host.resize(300, 300)
    host.show()
    _wheel(slider, 1)
    assert slider.value() == 0
    _wheel(area.verticalScrollBar(), -1)
    assert area.verticalScrollBar().value() > 0


def test_every_control_of_the_window_is_guarded(shell: Shell) -> None:
    """Every page, the header and the widgets built later (audio player) are covered."""
    from ai4artsed_desktop.ui.widgets.audio_player import AudioPlayer

    for page_id in ("create", "history", "training", "settings"):
        shell.window.show_page(page_id)
    controls = [
        w
        for w in shell.window.findChildren(QWidget)
        if isinstance(w, QComboBox | QAbstractSpinBox | QAbstractSlider)
        and not isinstance(w, QScrollBar)
    ]
    assert len(controls) > 20
    assert [w for w in controls if not w.property(GUARDED_PROPERTY)] == []
    player = AudioPlayer(Translator("de"), shell.window)
    assert player.position_slider.property(GUARDED_PROPERTY)
    assert player.volume_slider.property(GUARDED_PROPERTY)


def test_after_save_the_focus_stays_on_the_field_and_down_keeps_the_language(
    shell: Shell, qtbot: Any
) -> None:
    page = _settings_page(shell)
    retention = page.editors["retention_days"].widget
    assert isinstance(retention, QSpinBox)
    page.tabs.setFocus()
    _scroll_area(retention).ensureWidgetVisible(retention)
    QTest.mouseClick(retention, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(retention.hasFocus)
    QTest.keyClick(retention, Qt.Key.Key_Up)
    assert page.changes() == {"retention_days": 1}
    QTest.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert shell.settings_vm.current.retention_days == 1
    assert not page.save_button.isEnabled()
    assert retention.hasFocus()
    assert not shell.window.language_combo.hasFocus()
    focused = QApplication.focusWidget()
    assert focused is not None
    QTest.keyClick(focused, Qt.Key.Key_Down)
    assert shell.settings_vm.language == "de"

    # The Down key went to the retention field (0); the keyboard way to Save: Tab, Space.
    assert retention.value() == 0
    QTest.keyClick(retention, Qt.Key.Key_Up)
    QTest.keyClick(retention, Qt.Key.Key_Up)
    page.save_button.setFocus()
    qtbot.waitUntil(page.save_button.hasFocus)
    QTest.keyClick(page.save_button, Qt.Key.Key_Space)
    assert shell.settings_vm.current.retention_days == 2
    assert retention.hasFocus()


def test_window_size_and_place_are_remembered(shell: Shell, app_paths: AppPaths) -> None:
    window = shell.window
    window.setMinimumSize(300, 200)  # the offscreen screen is 800x800, smaller than 1100x680
    window.resize(640, 480)
    window.move(40, 60)
    window.close()  # the user closes the window: the geometry is written
    assert (app_paths.config_dir / FILE_NAME).is_file()
    window.resize(500, 300)
    window.restore_geometry()
    assert (window.width(), window.height()) == (640, 480)


def test_geometry_from_a_larger_screen_is_fitted_into_this_one(
    shell: Shell, app_paths: AppPaths
) -> None:
    window = shell.window
    window.setMinimumSize(300, 200)
    window.resize(1800, 1100)  # bigger than the 800x800 screen of the tests
    window.move(2500, 1500)
    big = bytes(window.saveGeometry().data())
    write_geometry(app_paths.config_dir / FILE_NAME, big)
    window.restore_geometry()
    avail = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert window.width() <= avail.width()
    assert window.height() <= avail.height()
    assert avail.contains(frame.topLeft())


def test_damaged_geometry_file_gives_the_default_size(shell: Shell, app_paths: AppPaths) -> None:
    (app_paths.config_dir / FILE_NAME).write_text('{"geometry": "not base64!"}')
    window = shell.window
    window.setMinimumSize(300, 200)
    window.restore_geometry()
    assert window.width() <= window.screen().availableGeometry().width()


@pytest.mark.usefixtures("expect_log_warnings")
def test_damaged_settings_file_is_announced_backed_up_and_strict(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    content: ContentLibrary,
    fake_gpu: FakeGpuProvider,
) -> None:
    app_paths.config_dir.mkdir(parents=True, exist_ok=True)
    damaged = '{"safety": {"level": "adult"'  # cut off mid-write
    app_paths.settings_file.write_text(damaged, encoding="utf-8")
    store = SettingsStore.load(app_paths.settings_file)
    assert store.current.safety.level == "kids"
    copies = sorted(app_paths.config_dir.glob("settings.json.corrupt-*"))
    assert [c.read_text(encoding="utf-8") for c in copies] == [damaged]
    built, tasks = _build(qtbot, app_paths, store, content, fake_gpu)
    try:
        built.window.show()
        banner = built.window.banner
        assert banner.isVisible()
        assert "beschädigt" in banner.message
        assert "„Kinder“" in banner.message
        assert str(copies[0]) in banner.message
        assert "not valid JSON" in banner.detail
        built.translator.set_language("en")  # the notice follows the language
        assert "was damaged" in banner.message
        assert "“Kids”" in banner.message
        assert str(copies[0]) in banner.message
        level = _settings_page(built).editors["safety.level"].widget
        assert isinstance(level, QComboBox)
        assert level.currentData() == "kids"
    finally:
        run(qtbot, built.shutdown())
        run(qtbot, tasks.cancel_all())
    # Started again without saving: no second copy of the same bytes.
    SettingsStore.load(app_paths.settings_file)
    assert sorted(app_paths.config_dir.glob("settings.json.corrupt-*")) == copies
