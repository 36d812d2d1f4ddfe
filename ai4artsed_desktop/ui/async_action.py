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

A view-model with work per thing (per backend, per store operation) uses
:class:`AsyncActions`: one :class:`AsyncAction` per key, started on demand, so each key has
its own busy state and cancel while different keys run side by side.

Given a :class:`~.i18n.Translator`, ``failed`` carries the error's text in the UI language
(its catalogue key, see :func:`~.i18n.error_text`); without one, the English message.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from ..errors import AppError
from ..tasks import TaskRegistry
from .i18n import Translator, error_text

log = logging.getLogger(__name__)

T = TypeVar("T")


class AsyncAction(QObject):
    """Runs one coroutine at a time as a task of a :class:`TaskRegistry`.

    Signals:
        busy_changed(bool): the action started (True) or ended, however it ended (False).
        failed(str, str): an expected error (``catch``) ended it and no ``error`` callback
            was given: the user message and the detail, for an error banner.
        error_raised(AppError): the same error itself, right after ``failed`` (for a
            banner that rewords it when the language changes).
    """

    busy_changed = Signal(bool)
    failed = Signal(str, str)
    error_raised = Signal(object)

    def __init__(
        self,
        name: str,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        translator: Translator | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._tasks = tasks if tasks is not None else TaskRegistry(name)
        self._tr = translator
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
        replace: bool = False,
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
            replace: while busy, cancel the running work (it ends with its ``cancelled``)
                and run ``work`` instead: for "only the newest matters" (a new search, a
                new selection). The action stays busy throughout.
        """
        old = self._task
        if old is not None and not replace:
            work.close()
            return False
        task = self._tasks.spawn(
            self._run(work, done, error, cancelled, crashed, catch), name=name or self.name
        )
        self._task = task
        # Cancelled before its first step, the task never enters _run: end it here.
        task.add_done_callback(lambda t: self._never_ran(t, work, cancelled))
        if old is not None:
            old.cancel()
        else:
            self.busy_changed.emit(True)
        return True

    def cancel(self) -> bool:
        """Ask the running work to stop (it ends with ``cancelled``); False when idle."""
        if self._task is None or self._task.done():
            return False
        self._task.cancel()
        return True

    async def wait(self) -> None:
        """Wait until the running work has ended, however it ends (nothing is cancelled)."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            await asyncio.gather(task, return_exceptions=True)

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
                message = exc.user_message if self._tr is None else error_text(self._tr, exc)
                self.failed.emit(message, exc.detail)
                self.error_raised.emit(exc)
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
        if inspect.getcoroutinestate(work) != inspect.CORO_CREATED:
            return  # _run took the work and ended it
        work.close()
        if self._task is not task:  # replaced before it ran: the newer work keeps it busy
            if cancelled is not None:
                cancelled()
            return
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


class AsyncActions(QObject):
    """Keyed async actions: one running work per key, different keys at once.

    For view-models whose work belongs to a thing: a start of backend "ollama" must not
    wait for (or block) one of "comfyui", but a second click on "ollama" is refused. Each
    key gets its own :class:`AsyncAction` while it runs (same rules: ``done`` / ``error``
    / ``cancelled`` after :meth:`busy` reads False, ``replace`` for "only the newest");
    a key that has ended holds nothing.

    Signals:
        busy_changed(str, bool): work of this key started (True) or ended (False).
        any_busy_changed(bool): the first key started or the last one ended.
        failed(str, str): an expected error ended work that had no ``error`` callback:
            the message (in the UI language with a translator) and the detail.
        error_raised(AppError): the same error itself, right after ``failed``.
    """

    busy_changed = Signal(str, bool)
    any_busy_changed = Signal(bool)
    failed = Signal(str, str)
    error_raised = Signal(object)

    def __init__(
        self,
        name: str,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
        *,
        translator: Translator | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self._tasks = tasks if tasks is not None else TaskRegistry(name)
        self._tr = translator
        self._actions: dict[str, AsyncAction] = {}
        self._closed = False

    def busy(self, key: str) -> bool:
        """True while work of ``key`` runs."""
        action = self._actions.get(key)
        return action is not None and action.busy

    @property
    def busy_keys(self) -> frozenset[str]:
        """The keys whose work runs now."""
        return frozenset(k for k, a in self._actions.items() if a.busy)

    @property
    def any_busy(self) -> bool:
        return bool(self.busy_keys)

    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown`: nothing starts any more."""
        return self._closed

    def start(
        self,
        key: str,
        work: Coroutine[Any, Any, T],
        *,
        done: Callable[[T], None] | None = None,
        error: Callable[[AppError], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        crashed: Callable[[BaseException], None] | None = None,
        catch: tuple[type[AppError], ...] = (AppError,),
        replace: bool = False,
    ) -> bool:
        """Run ``work`` as the work of ``key`` (see :meth:`AsyncAction.start`).

        False (and ``work`` closed) while ``key`` is busy without ``replace``, or after
        :meth:`shutdown`.
        """
        if self._closed:
            work.close()
            return False
        action = self._actions.get(key)
        if action is None:
            action = self._actions[key] = self._new_action(key)
        return action.start(
            work,
            name=f"{self.name}:{key}",
            done=done,
            error=error,
            cancelled=cancelled,
            crashed=crashed,
            catch=catch,
            replace=replace,
        )

    def cancel(self, key: str) -> bool:
        """Ask the work of ``key`` to stop; False when it is idle."""
        action = self._actions.get(key)
        return action is not None and action.cancel()

    async def join(self) -> None:
        """Wait until every work that runs now has ended (nothing is cancelled)."""
        while running := [a for a in self._actions.values() if a.busy]:
            await asyncio.gather(*(a.wait() for a in running))

    async def shutdown(self) -> None:
        """Refuse new work, cancel every running work and wait until it has ended."""
        self._closed = True
        await asyncio.gather(*(a.shutdown() for a in list(self._actions.values())))

    def _new_action(self, key: str) -> AsyncAction:
        action = AsyncAction(f"{self.name}:{key}", self._tasks, self, translator=self._tr)
        action.failed.connect(self.failed)
        action.error_raised.connect(self.error_raised)
        action.busy_changed.connect(lambda busy: self._on_busy(key, action, busy))
        return action

    def _on_busy(self, key: str, action: AsyncAction, busy: bool) -> None:
        if not busy and self._actions.get(key) is action:
            del self._actions[key]  # an ended key holds nothing (keys may be one-off ids)
            action.deleteLater()
        others = any(a.busy for k, a in self._actions.items() if k != key)
        self.busy_changed.emit(key, busy)
        if not others:
            self.any_busy_changed.emit(busy)
