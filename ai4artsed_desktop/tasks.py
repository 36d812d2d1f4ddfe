"""TaskRegistry: strong references to background tasks, logged failures, ordered cancel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskRegistry:
    """Owns background tasks so they are never garbage collected mid-flight.

    Every task started through :meth:`spawn` is kept until it finishes; an exception
    other than cancellation is logged with its traceback. :meth:`cancel_all` cancels
    the remaining tasks and waits for them, which is what an ordered shutdown needs.
    """

    def __init__(self, name: str = "tasks") -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a task owned by this registry."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._on_done)
        return task

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error(
                "%s: background task %r failed",
                self._name,
                task.get_name(),
                exc_info=(type(exc), exc, exc.__traceback__),
            )

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks still running."""
        return frozenset(self._tasks)

    async def cancel_all(self, grace: float = 5.0) -> None:
        """Cancel every running task and wait (bounded) until they have finished."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                log.warning("%s: task %r did not stop within %.1fs", self._name, task, grace)
