"""AsyncAction: one background action of a view-model at a time (busy state, errors, cancel).

Every view-model that runs slow work (a PIN check, a profile import, a warm-up, a run) needs
the same things: refuse a second start while one runs, say "busy" and "idle", turn an
expected error into a message for the error banner, let Cancel stop it, and stop it at
shutdown. This class is that pattern, once::

    self.action = AsyncAction("lesson-import", tasks, parent=self)
    self.action.busy_changed.connect(self.busy_changed)
    self.action.failed.connect(self.error_occurred)          # (message, detail)
    ...
    self.action.start(asyncio.to_thread(load, path), done=self._apply)

When the work ends, :attr:`busy` reads False first, then the outcome callback runs
(``done``, ``error`` or ``cancelled``), then ``busy_changed(False)`` is emitted: whoever
reacts to either sees a consistent state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from ..errors import AppError
from ..tasks import TaskRegistry

log = logging.getLogger(__name__)

T = TypeVar("T")


class AsyncAction(QObject):
    """Runs one coroutine at a time as a task of a :class:`TaskRegistry`.

    Signals:
        busy_changed(bool): the action started (True) or ended, however it ended (False).
        failed(str, str): an expected error (``catch``) ended it and no ``error`` callback
            was given: the user message and the detail, for an error banner.
    """

    busy_changed = Signal(bool)
    failed = Signal(str, str)

    def __init__(
        self, name: str, tasks: TaskRegistry | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._tasks = tasks or TaskRegistry(name)
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    def start(
        self,
        work: Coroutine[Any, Any, T],
        *,
        name: str = "",
        done: Callable[[T], None] | None = None,
        error: Callable[[AppError], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        crashed: Callable[[BaseException], None] | None = None,
        catch: tuple[type[AppError], ...] = (AppError,),
    ) -> bool:
        """Run ``work`` unless the action is busy (then ``work`` is closed, False returned).

        Args:
            work: the coroutine; its result goes to ``done``.
            name: the task's name (default: the action's name).
            done: called with the result after a normal end.
            error: called with an expected error (one of ``catch``); without it the error
                becomes ``failed(user_message, detail)``. Other exceptions are bugs: they
                end the action and are logged with their traceback by the task registry.
            cancelled: called when :meth:`cancel` or a shutdown stopped the work.
            crashed: called when an unexpected exception (a bug) ended it.
            catch: the expected error types.
        """
        if self._task is not None:
            work.close()
            return False
        task = self._tasks.spawn(
            self._run(work, done, error, cancelled, crashed, catch), name=name or self.name
        )
        self._task = task
        # Cancelled before its first step, the task never enters _run: end it here.
        task.add_done_callback(lambda t: self._never_ran(t, work, cancelled))
        self.busy_changed.emit(True)
        return True

    def cancel(self) -> bool:
        """Ask the running work to stop (it ends with ``cancelled``); False when idle."""
        if self._task is None or self._task.done():
            return False
        self._task.cancel()
        return True

    async def shutdown(self) -> None:
        """Cancel the running work and wait until it has ended."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(
        self,
        work: Coroutine[Any, Any, T],
        done: Callable[[T], None] | None,
        error: Callable[[AppError], None] | None,
        cancelled: Callable[[], None] | None,
        crashed: Callable[[BaseException], None] | None,
        catch: tuple[type[AppError], ...],
    ) -> None:
        me = asyncio.current_task()
        try:
            result = await work
        except asyncio.CancelledError:
            self._end(me)
            if cancelled is not None:
                cancelled()
            self._emit_idle()
            raise
        except catch as exc:
            self._end(me)
            log.info("%s: %s (%s)", self.name, exc.user_message, exc.detail)
            if error is not None:
                error(exc)
            else:
                self.failed.emit(exc.user_message, exc.detail)
            self._emit_idle()
            return
        except BaseException as exc:
            self._end(me)
            if crashed is not None:
                crashed(exc)
            self._emit_idle()
            raise
        self._end(me)
        if done is not None:
            done(result)
        self._emit_idle()

    def _never_ran(
        self,
        task: asyncio.Task[None],
        work: Coroutine[Any, Any, Any],
        cancelled: Callable[[], None] | None,
    ) -> None:
        if self._task is not task:
            return  # _run ended it
        work.close()
        self._task = None
        if cancelled is not None:
            cancelled()
        self.busy_changed.emit(False)

    def _end(self, task: asyncio.Task[Any] | None) -> None:
        if self._task is task:
            self._task = None

    def _emit_idle(self) -> None:
        if self._task is None:
            self.busy_changed.emit(False)
