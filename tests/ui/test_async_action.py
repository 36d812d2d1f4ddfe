"""AsyncAction: one background action at a time, a consistent busy state, errors, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ai4artsed_desktop.errors import AppError, ConfigError
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.async_action import AsyncAction

from .helpers import run


class Log:
    """What happened, in order, with the busy state each observer saw."""

    def __init__(self, action: AsyncAction) -> None:
        self.action = action
        self.lines: list[str] = []
        action.busy_changed.connect(lambda busy: self.lines.append(f"busy_changed {busy}"))
        action.failed.connect(lambda message, detail: self.lines.append(f"failed {message}"))

    def note(self, what: str) -> None:
        self.lines.append(f"{what} (busy {self.action.busy})")


def _wait_idle(qtbot: Any, action: AsyncAction) -> None:
    qtbot.waitUntil(lambda: not action.busy)


async def _value(gate: asyncio.Event, value: int) -> int:
    await gate.wait()
    return value


def test_done_runs_with_busy_false_before_busy_changed(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    gate = asyncio.Event()
    assert action.start(_value(gate, 7), done=lambda v: log.note(f"done {v}"))
    assert action.busy
    second = _value(gate, 8)
    assert not action.start(second)  # refused while busy; the coroutine is closed, not leaked
    assert second.cr_frame is None
    gate.set()
    _wait_idle(qtbot, action)
    qtbot.waitUntil(lambda: log.lines[-1] == "busy_changed False")
    assert log.lines == ["busy_changed True", "done 7 (busy False)", "busy_changed False"]


async def _fail(exc: Exception) -> None:
    raise exc


def test_expected_error_becomes_failed_for_the_banner(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    action.start(_fail(ConfigError("The file is broken.", detail="x.json")))
    qtbot.waitUntil(lambda: log.lines[-1:] == ["busy_changed False"])
    assert log.lines == ["busy_changed True", "failed The file is broken.", "busy_changed False"]


def test_error_callback_replaces_the_signal_and_catch_narrows(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    seen: list[AppError] = []
    action.start(
        _fail(ConfigError("broken")), error=lambda exc: seen.append(exc), catch=(ConfigError,)
    )
    qtbot.waitUntil(lambda: log.lines[-1:] == ["busy_changed False"])
    assert [e.user_message for e in seen] == ["broken"]
    assert "failed broken" not in log.lines


@pytest.mark.usefixtures("expect_log_warnings")
def test_a_bug_ends_the_action_and_is_logged(
    qloop: Any, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = TaskRegistry("test")
    action = AsyncAction("test", tasks)
    crashed: list[BaseException] = []
    action.start(_fail(ValueError("bug")), crashed=crashed.append, catch=(ConfigError,))
    _wait_idle(qtbot, action)
    qtbot.waitUntil(lambda: "background task" in caplog.text)
    assert [str(e) for e in crashed] == ["bug"]


def test_cancel_ends_with_the_cancelled_callback(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    gate = asyncio.Event()
    action.start(_value(gate, 1), cancelled=lambda: log.note("cancelled"))

    run(qtbot, asyncio.sleep(0))  # the work is waiting at its gate now
    assert action.cancel()
    qtbot.waitUntil(lambda: log.lines[-1:] == ["busy_changed False"])
    assert log.lines == ["busy_changed True", "cancelled (busy False)", "busy_changed False"]
    assert not action.cancel()  # idle: nothing to cancel


def test_cancelled_before_its_first_step_still_ends(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    work = _value(asyncio.Event(), 1)
    action.start(work, cancelled=lambda: log.note("cancelled"))
    assert action.cancel()  # at once: the task never runs a step
    qtbot.waitUntil(lambda: log.lines[-1:] == ["busy_changed False"])
    assert log.lines == ["busy_changed True", "cancelled (busy False)", "busy_changed False"]
    assert work.cr_frame is None  # closed: no "never awaited" warning


def test_shutdown_cancels_and_waits(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    action.start(_value(asyncio.Event(), 1))
    run(qtbot, action.shutdown())
    assert not action.busy
    run(qtbot, action.shutdown())  # idle: nothing to do
