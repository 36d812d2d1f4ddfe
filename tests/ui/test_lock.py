"""Teacher lock in the window: hidden pages, the PIN prompt, PIN changes, research level."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.runs import RunStore
from ai4artsed_desktop.system.gpu import FakeGpuProvider
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.teacher_lock import MIN_ITERATIONS, TeacherLock
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage
from ai4artsed_desktop.ui.shell import Shell, build_shell

from .helpers import run

PIN = "4711"
CONTENT = load_content(resources_dir() / "configs")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lock(app_paths: AppPaths, clock: FakeClock) -> TeacherLock:
    teacher = TeacherLock(
        app_paths.config_dir / "teacher_lock.json", clock=clock, iterations=MIN_ITERATIONS
    )
    teacher.set_pin(PIN)
    teacher.lock()
    return teacher


def _build(qtbot: Any, app_paths: AppPaths, store: SettingsStore, gpu: Any, **kw: Any) -> Any:
    tasks = TaskRegistry("test")
    manager = BackendManager(store.current, app_paths, demo=False)
    runs = RunStore(app_paths.runs_dir)
    services = build_services(
        backends=manager,
        content=CONTENT,
        settings=lambda: store.current,
        store=runs,
        workflows_dir=resources_dir() / "workflows",
    )
    built = build_shell(
        paths=app_paths,
        store=store,
        content=CONTENT,
        gpu=gpu,
        tasks=tasks,
        demo=True,
        services=services,
        **kw,
    )
    qtbot.addWidget(built.window)
    built.window.resize(1366, 768)
    built.window.show()

    def close() -> None:
        run(qtbot, built.shutdown())
        run(qtbot, tasks.cancel_all())
        run(qtbot, services.providers.aclose())
        run(qtbot, manager.shutdown())
        runs.close()

    return built, close


@pytest.fixture
def shell(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    fake_gpu: FakeGpuProvider,
    lock: TeacherLock,
) -> Iterator[Shell]:
    built, close = _build(qtbot, app_paths, store, fake_gpu, lock=lock)
    yield built
    close()


def _nav_hidden(shell: Shell) -> dict[str, bool]:
    window = shell.window
    return {
        window.nav.item(row).data(256): window.nav.item(row).isHidden()
        for row in range(window.nav.count())
    }


def _unlock(shell: Shell, qtbot: Any, pin: str) -> None:
    button = shell.window.lock_button
    assert button is not None
    dialog = button.dialog  # type: ignore[attr-defined]
    if not dialog.isVisible():
        button.click()
    assert dialog.isVisible()
    dialog.pin_edit.setText(pin)
    dialog.unlock_button.click()


def test_locked_students_see_only_create_and_history(shell: Shell) -> None:
    window = shell.window
    assert _nav_hidden(shell) == {
        "create": False,
        "history": False,
        "training": True,
        "settings": True,
        "lab": True,
    }
    window.show_page("settings")
    assert window.current_page == "create"
    window.show_page("lab")  # the lab console, too, is behind the PIN
    assert window.current_page == "create"
    window.page_actions[3].trigger()  # Ctrl+4
    assert window.current_page == "create"
    window.page_actions[4].trigger()  # Ctrl+5
    assert window.current_page == "create"
    window.nav.setCurrentRow(2)
    assert window.current_page == "create"
    assert window.lock_button is not None
    assert window.lock_button.text() == "Entsperren"


def test_wrong_pin_shows_an_inline_error_and_the_right_one_unlocks(
    shell: Shell, qtbot: Any
) -> None:
    _unlock(shell, qtbot, "0000")
    dialog = shell.window.lock_button.dialog  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "Die PIN ist falsch."
    assert shell.lock_vm is not None
    assert shell.lock_vm.locked
    _unlock(shell, qtbot, PIN)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert not any(_nav_hidden(shell).values())
    shell.window.show_page("settings")
    assert shell.window.current_page == "settings"
    assert shell.window.lock_button.text() == "Sperren"  # type: ignore[union-attr]
    shell.window.lock_button.click()  # type: ignore[union-attr]
    assert _nav_hidden(shell)["settings"]
    assert shell.window.current_page == "create"


def test_repeated_wrong_pins_show_the_wait_message(shell: Shell, qtbot: Any) -> None:
    dialog = shell.window.lock_button.dialog  # type: ignore[union-attr]
    for _try in range(5):
        dialog.error_label.hide()
        _unlock(shell, qtbot, "1234")
        qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    dialog.error_label.hide()
    _unlock(shell, qtbot, PIN)  # even the right PIN waits now
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text().startswith("Zu viele falsche Versuche. Warte 2 Sekunden")
    assert shell.lock_vm is not None
    assert shell.lock_vm.locked


def test_research_level_needs_unlock_and_a_confirmation(shell: Shell, qtbot: Any) -> None:
    assert shell.lock_vm is not None
    assert shell.services is not None
    _unlock(shell, qtbot, PIN)
    qtbot.waitUntil(lambda: not shell.lock_vm.locked)  # type: ignore[union-attr]
    page = shell.window.pages["settings"]
    assert isinstance(page, SettingsPage)
    assert page.lesson is not None
    shell.window.show_page("settings")
    page.editors["safety.level"].set_value("research")
    assert page.save() is False
    bar = page.lesson.research_bar
    assert bar.isVisible()
    assert bar.confirm_button.isVisible()
    assert shell.settings_vm.current.safety.level == "youth"
    assert not shell.services.gate.research_confirmed
    bar.confirm_button.click()
    assert shell.settings_vm.current.safety.level == "research"
    assert shell.services.gate.research_confirmed
    assert not bar.isVisible()
    shell.window.lock_button.click()  # type: ignore[union-attr]  # locking ends it
    assert not shell.services.gate.research_confirmed


def test_without_a_pin_research_cannot_be_confirmed(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    fake_gpu: FakeGpuProvider,
) -> None:
    built, close = _build(qtbot, app_paths, store, fake_gpu)
    try:
        window = built.window
        assert window.lock_button is not None
        assert window.lock_button.isHidden()
        assert not any(_nav_hidden(built).values())
        page = window.pages["settings"]
        assert isinstance(page, SettingsPage)
        assert page.lesson is not None
        window.show_page("settings")
        page.editors["safety.level"].set_value("research")
        assert page.save() is False
        bar = page.lesson.research_bar
        assert bar.isVisible()
        assert not bar.confirm_button.isVisible()
        assert "PIN" in bar.text.text()
        assert built.settings_vm.current.safety.level == "youth"
    finally:
        close()


def test_set_change_and_clear_the_pin_in_settings(
    qloop: Any,
    qtbot: Any,
    app_paths: AppPaths,
    store: SettingsStore,
    fake_gpu: FakeGpuProvider,
    clock: FakeClock,
) -> None:
    lock_file = app_paths.config_dir / "teacher_lock.json"
    teacher = TeacherLock(lock_file, clock=clock, iterations=MIN_ITERATIONS)
    built, close = _build(qtbot, app_paths, store, fake_gpu, lock=teacher)
    try:
        page = built.window.pages["settings"]
        assert isinstance(page, SettingsPage)
        assert page.lesson is not None
        panel = page.lesson
        panel.new_pin.setText("12")
        panel.repeat_pin.setText("12")
        panel.set_pin_button.click()
        assert "4 bis 12 Ziffern" in panel.pin_message.text()
        panel.new_pin.setText(PIN)
        panel.repeat_pin.setText(PIN)
        panel.set_pin_button.click()
        qtbot.waitUntil(lambda: teacher.is_set and panel.pin_message.text().startswith("Die PIN"))
        assert Path(lock_file).exists()
        assert built.window.lock_button.isVisible()  # type: ignore[union-attr]
        assert not panel.current_pin.isHidden()
        # Changing needs the current PIN.
        panel.new_pin.setText("9876")
        panel.repeat_pin.setText("9876")
        panel.current_pin.setText("0000")
        panel.set_pin_button.click()
        qtbot.waitUntil(lambda: panel.pin_message.text() == "Die PIN ist falsch.")
        panel.current_pin.setText(PIN)
        panel.new_pin.setText("9876")
        panel.repeat_pin.setText("9876")
        panel.set_pin_button.click()
        qtbot.waitUntil(lambda: panel.pin_message.text() == "Die PIN wurde geändert.")
        assert teacher.verify("9876")
        panel.current_pin.setText("9876")
        panel.clear_pin_button.click()
        # The file changes in a worker thread before the view-model hears of it: wait for
        # the message that ends the action, then look at the window.
        qtbot.waitUntil(lambda: panel.pin_message.text().startswith("Die PIN wurde entfernt"))
        assert not teacher.is_set
        assert built.window.lock_button.isHidden()  # type: ignore[union-attr]
    finally:
        close()
