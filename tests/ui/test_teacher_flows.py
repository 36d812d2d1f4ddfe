"""Teacher flows that do what they show: log folder fallback, "really quit?" while work runs."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.teacher_lock import MIN_ITERATIONS, TeacherLock
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.shell import Shell, _work_running
from ai4artsed_desktop.ui.viewmodels.lock_vm import LockViewModel
from ai4artsed_desktop.ui.widgets.lock_dialog import LockButton
from ai4artsed_desktop.ui.widgets.path_dialog import PathDialog

from .create_rig import RUN_TIMEOUT_MS, Rig
from .helpers import run


def _fake_xdg_open(folder: Path, exit_code: int) -> None:
    folder.mkdir()
    program = folder / "xdg-open"
    program.write_text(f"#!/bin/sh\nexit {exit_code}\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def _path_dialogs() -> list[PathDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, PathDialog)]


@pytest.mark.usefixtures("expect_log_warnings")
def test_log_folder_shows_its_path_when_no_file_manager_opens_it(
    shell: Shell, qtbot: Any, app_paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_xdg_open(tmp_path / "bin", 3)  # xdg-open's "no application for this" exit code
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    QTest.mouseClick(shell.window.log_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in _path_dialogs()), timeout=5000)
    dialog = _path_dialogs()[-1]
    assert dialog.path_edit.text() == str(app_paths.log_dir)
    assert dialog.path_edit.isReadOnly()
    assert "nicht öffnen" in dialog.message.text()
    QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == str(app_paths.log_dir)
    assert dialog.copied.text() == "Pfad kopiert."
    QTest.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def _answer_question(button_text: str, seen: list[str]) -> None:
    """Click ``button_text`` in the modal question as soon as it is shown."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        button = next(b for b in box.findChildren(QPushButton) if b.text() == button_text)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def test_closing_while_work_runs_asks_first(shell: Shell, qtbot: Any) -> None:
    window = shell.window
    work = ["Gerade entsteht etwas."]
    window.set_quit_guard(lambda: work[0])
    quits: list[bool] = []
    window.close_requested.connect(lambda: quits.append(True))
    seen: list[str] = []
    _answer_question("Weiterarbeiten", seen)
    window.close()
    assert seen == ["Gerade entsteht etwas."]
    assert quits == []
    assert window.isVisible()
    _answer_question("Trotzdem beenden", seen)
    window.close()
    assert quits == [True]
    work[0] = ""  # nothing runs: no question at all
    window.close()
    assert quits == [True, True]
    assert len(seen) == 2


def test_the_question_names_a_running_generation(rig: Rig, qtbot: Any) -> None:
    rig.create.set_idea("Ein Leuchtturm aus Glas")
    assert _work_running(rig.translator, rig.vm, None) == ""
    assert rig.vm.transform()
    assert _work_running(rig.translator, rig.vm, None).startswith("Gerade entsteht etwas")
    qtbot.waitUntil(lambda: not rig.vm.busy, timeout=RUN_TIMEOUT_MS)
    assert _work_running(rig.translator, rig.vm, None) == ""


def _inside(child: QWidget, parent: QWidget) -> bool:
    top_left = child.mapTo(parent, child.rect().topLeft())
    return parent.rect().contains(QRect(top_left, child.size()))


@pytest.mark.parametrize("language", ["de", "en"])
def test_pin_prompt_lays_out_after_a_wrong_pin_and_after_the_wait(
    qloop: Any, qtbot: Any, app_paths: AppPaths, language: str
) -> None:
    clock = [1000.0]
    teacher = TeacherLock(
        app_paths.config_dir / "teacher_lock.json",
        clock=lambda: clock[0],
        iterations=MIN_ITERATIONS,
    )
    teacher.set_pin("4711")
    teacher.lock()
    vm = LockViewModel(teacher, Translator(language))
    button = LockButton(vm, Translator(language))
    qtbot.addWidget(button)
    dialog = button.dialog
    dialog.start()
    qtbot.waitExposed(dialog)
    size_before = dialog.size()
    for attempt in range(8):  # wrong PINs until the throttle's longer message shows
        QTest.keyClicks(dialog.pin_edit, "0000")
        QTest.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.error_label.isVisible() and not vm.busy)
        label = dialog.error_label
        assert label.text()
        assert _inside(label, dialog), f"attempt {attempt}: the message is cut off"
        assert label.height() >= label.heightForWidth(label.width()), attempt
        below = dialog.buttons.mapTo(dialog, dialog.buttons.rect().topLeft()).y()
        assert label.mapTo(dialog, label.rect().bottomLeft()).y() < below
        assert _inside(dialog.buttons, dialog)
        dialog.pin_edit.clear()
    assert dialog.height() > size_before.height()  # it grew for the message
    run(qtbot, vm.shutdown())
    dialog.reject()
