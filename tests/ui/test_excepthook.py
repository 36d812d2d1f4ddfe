"""The excepthook logs uncaught exceptions and shows the crash dialog, never recursively."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal

from ai4artsed_desktop.ui.excepthook import CrashDialog, install_excepthook
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.qt_async import async_slot

pytestmark = pytest.mark.usefixtures("expect_log_warnings")


class Asks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Path]] = []
        self.fail = False


@pytest.fixture
def asks(monkeypatch: pytest.MonkeyPatch) -> Asks:
    record = Asks()

    def ask(cls: type[CrashDialog], summary: str, details: str, log_dir: Path, tr: Any) -> None:
        record.calls.append((summary, details, log_dir))
        if record.fail:
            raise RuntimeError("dialog broke too")

    monkeypatch.setattr(CrashDialog, "ask", classmethod(ask))
    return record


@pytest.fixture
def hook(qapp: Any, tmp_path: Path) -> Iterator[list[str]]:
    crashes: list[str] = []
    uninstall = install_excepthook(tmp_path, on_crash=crashes.append)
    yield crashes
    uninstall()


def _raise_into_hook(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as caught:
        sys.excepthook(type(caught), caught, caught.__traceback__)


def test_uncaught_exception_is_logged_and_shown(
    hook: list[str], asks: Asks, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _raise_into_hook(ValueError("bad value"))
    assert hook == ["ValueError: bad value"]
    summary, details, log_dir = asks.calls[0]
    assert summary == "ValueError: bad value"
    assert "Traceback" in details
    assert "_raise_into_hook" in details
    assert log_dir == tmp_path
    assert any(
        r.levelno == logging.CRITICAL and "bad value" in r.getMessage() for r in caplog.records
    )


def test_a_failing_dialog_does_not_recurse(
    hook: list[str], asks: Asks, caplog: pytest.LogCaptureFixture
) -> None:
    asks.fail = True
    _raise_into_hook(RuntimeError("first"))
    assert len(asks.calls) == 1
    assert any("crash handler itself failed" in r.getMessage() for r in caplog.records)
    asks.fail = False
    _raise_into_hook(RuntimeError("second"))  # the guard was released
    assert len(asks.calls) == 2


class Worker(QObject):
    triggered = Signal()

    @async_slot()
    async def on_triggered(self) -> None:
        raise KeyError("inside a slot")


def test_exceptions_in_async_slots_reach_the_dialog(
    qloop: Any, qtbot: Any, hook: list[str], asks: Asks
) -> None:
    worker = Worker()
    worker.triggered.connect(worker.on_triggered)
    worker.triggered.emit()
    qtbot.waitUntil(lambda: len(asks.calls) == 1, timeout=2000)
    assert "inside a slot" in asks.calls[0][0]


def test_uninstall_restores_the_previous_hook(qapp: Any, tmp_path: Path) -> None:
    before = sys.excepthook
    uninstall = install_excepthook(tmp_path)
    assert sys.excepthook is not before
    uninstall()
    assert sys.excepthook is before


def test_crash_dialog_shows_message_and_expandable_details(
    qapp: Any, qtbot: Any, tmp_path: Path
) -> None:
    dialog = CrashDialog("ValueError: x", "Traceback ...", tmp_path, Translator("en"))
    qtbot.addWidget(dialog)
    dialog.show()
    assert "ValueError: x" in dialog.message.text()
    assert dialog.details_view.isHidden()
    dialog.toggle_button.click()
    assert dialog.details_view.isVisible()
    assert dialog.details_view.toPlainText() == "Traceback ..."
    assert dialog.close_button.text() == "Close"
