"""AsyncAction: one background action at a time, a consistent busy state, errors, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ai4artsed_desktop.errors import AppError, ConfigError
from ai4artsed_desktop.tasks import TaskRegistry
from ai4artsed_desktop.ui.async_action import AsyncAction, AsyncActions
from ai4artsed_desktop.ui.i18n import Translator

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


def test_replace_cancels_the_running_work_and_stays_busy(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    log = Log(action)
    first_gate, second_gate = asyncio.Event(), asyncio.Event()
    action.start(_value(first_gate, 1), cancelled=lambda: log.note("first cancelled"))
    run(qtbot, asyncio.sleep(0))  # the first work waits at its gate
    done: list[int] = []
    assert action.start(_value(second_gate, 2), done=done.append, replace=True)
    qtbot.waitUntil(lambda: "first cancelled (busy True)" in log.lines)
    second_gate.set()
    qtbot.waitUntil(lambda: log.lines[-1:] == ["busy_changed False"])
    assert done == [2]
    assert log.lines == ["busy_changed True", "first cancelled (busy True)", "busy_changed False"]


def test_replace_before_the_first_step_closes_the_replaced_work(qloop: Any, qtbot: Any) -> None:
    action = AsyncAction("test")
    cancelled: list[str] = []
    first = _value(asyncio.Event(), 1)
    action.start(first, cancelled=lambda: cancelled.append("first"))
    gate = asyncio.Event()
    action.start(_value(gate, 2), replace=True)  # the first never ran a step
    qtbot.waitUntil(lambda: cancelled == ["first"])
    assert first.cr_frame is None  # closed: no "never awaited" warning
    assert action.busy
    gate.set()
    _wait_idle(qtbot, action)


def test_keyed_actions_refuse_per_key_and_run_keys_side_by_side(qloop: Any, qtbot: Any) -> None:
    actions = AsyncActions("test")
    seen: list[tuple[str, bool]] = []
    anyone: list[bool] = []
    actions.busy_changed.connect(lambda key, busy: seen.append((key, busy)))
    actions.any_busy_changed.connect(anyone.append)
    gate_a, gate_b = asyncio.Event(), asyncio.Event()
    done: list[int] = []
    assert actions.start("a", _value(gate_a, 1), done=done.append)
    second = _value(gate_a, 9)
    assert not actions.start("a", second)  # the same key is busy: refused and closed
    assert second.cr_frame is None
    assert actions.start("b", _value(gate_b, 2), done=done.append)  # another key runs too
    assert actions.busy_keys == {"a", "b"}
    assert actions.busy("a")
    assert not actions.busy("c")
    gate_b.set()
    qtbot.waitUntil(lambda: not actions.busy("b"))
    assert actions.busy("a")
    assert actions.any_busy
    gate_a.set()
    qtbot.waitUntil(lambda: not actions.any_busy)
    assert done == [2, 1]
    assert seen == [("a", True), ("b", True), ("b", False), ("a", False)]
    assert anyone == [True, False]
    assert actions.start("a", _value(gate_a, 3), done=done.append)  # an ended key starts anew
    qtbot.waitUntil(lambda: done == [2, 1, 3])


def test_keyed_cancel_touches_only_its_key(qloop: Any, qtbot: Any) -> None:
    actions = AsyncActions("test")
    cancelled: list[str] = []
    gate = asyncio.Event()
    actions.start("a", _value(gate, 1), cancelled=lambda: cancelled.append("a"))
    actions.start("b", _value(gate, 2), cancelled=lambda: cancelled.append("b"))
    run(qtbot, asyncio.sleep(0))
    assert actions.cancel("a")
    assert not actions.cancel("zzz")
    qtbot.waitUntil(lambda: not actions.busy("a"))
    assert cancelled == ["a"]
    assert actions.busy("b")
    gate.set()
    qtbot.waitUntil(lambda: not actions.any_busy)
    assert cancelled == ["a"]


def test_keyed_failed_is_in_the_ui_language(qloop: Any, qtbot: Any) -> None:
    actions = AsyncActions("test", translator=Translator("de"))
    failed: list[tuple[str, str]] = []
    actions.failed.connect(lambda message, detail: failed.append((message, detail)))
    error = AppError("No file came back.", detail="job 7", key="error.no_file")
    actions.start("a", _fail(error))
    qtbot.waitUntil(lambda: bool(failed))
    german = Translator("de").tr("error.no_file")
    assert german != "No file came back."
    assert "Datei" in german
    assert failed == [(german, "job 7")]


def test_keyed_join_waits_and_shutdown_cancels_and_refuses(qloop: Any, qtbot: Any) -> None:
    actions = AsyncActions("test")
    gate = asyncio.Event()
    done: list[int] = []
    actions.start("a", _value(gate, 1), done=done.append)
    qloop.call_soon(gate.set)
    run(qtbot, actions.join())
    assert done == [1]  # joined: it ran to its end, nothing was cancelled
    cancelled: list[str] = []
    actions.start("b", _value(asyncio.Event(), 2), cancelled=lambda: cancelled.append("b"))
    run(qtbot, actions.shutdown())
    assert cancelled == ["b"]
    assert not actions.any_busy
    assert actions.closed
    late = _value(gate, 3)
    assert not actions.start("c", late)  # after shutdown nothing starts
    assert late.cr_frame is None
