"""Typed re-export of qasync's ``asyncSlot`` (qasync ships no type information)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import qasync

P = ParamSpec("P")
R = TypeVar("R")


def async_slot(
    *types: type,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Any]]:
    """Decorate an ``async def`` method so Qt signals can call it.

    qasync keeps a strong reference to the task and reports exceptions to
    ``sys.excepthook`` (our crash dialog), so nothing fails silently.
    """
    decorator: Callable[[Callable[P, Awaitable[R]]], Callable[P, Any]] = qasync.asyncSlot(*types)
    return decorator


@contextlib.contextmanager
def asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Install the loop's async-generator hooks while the block runs.

    asyncio's own ``run_forever`` installs them; qasync's does not. Without them an async
    generator that is dropped unfinished (an httpx line stream, a client stream) is
    finalised by the garbage collector outside the loop instead of being closed on it.
    """
    old = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    try:
        yield
    finally:
        sys.set_asyncgen_hooks(*old)


def run_qt_loop(app: Any, main: Awaitable[None]) -> None:
    """Run ``main`` to its end on a qasync loop over ``app``, then close the loop.

    One ``run_until_complete`` and no :class:`asyncio.Runner`: a second ``exec()`` of the
    Qt loop after QtWebEngine has run (``Runner.close`` runs three) segfaults. Async
    generators and the default thread pool are shut down inside the same run.
    """
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def whole() -> None:
        with asyncgen_hooks(loop):
            try:
                await main
            finally:
                await loop.shutdown_asyncgens()
                await loop.shutdown_default_executor()

    try:
        loop.run_until_complete(whole())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
