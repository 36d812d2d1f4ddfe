"""Typed re-export of qasync's ``asyncSlot`` (qasync ships no type information)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
