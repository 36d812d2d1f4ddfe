from __future__ import annotations

import asyncio
import logging

import pytest

from ai4artsed_desktop.tasks import TaskRegistry


@pytest.mark.asyncio
async def test_registry_keeps_tasks_until_done() -> None:
    registry = TaskRegistry()
    gate = asyncio.Event()
    task = registry.spawn(gate.wait(), name="waiter")
    assert task in registry.tasks
    gate.set()
    await task
    await asyncio.sleep(0)  # let the done-callback run
    assert len(registry) == 0


@pytest.mark.asyncio
@pytest.mark.usefixtures("expect_log_warnings")
async def test_failures_are_logged_with_traceback(caplog: pytest.LogCaptureFixture) -> None:
    registry = TaskRegistry("t")

    async def boom() -> None:
        raise RuntimeError("kaputt")

    task = registry.spawn(boom(), name="boom")
    with pytest.raises(RuntimeError):
        await task
    await asyncio.sleep(0)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors
    assert errors[0].exc_info
    assert "boom" in errors[0].getMessage()


@pytest.mark.asyncio
async def test_cancel_all_cancels_and_waits() -> None:
    registry = TaskRegistry()
    cleaned: list[str] = []

    async def worker(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(name)

    for n in ("a", "b"):
        registry.spawn(worker(n), name=n)
    await asyncio.sleep(0)
    await registry.cancel_all()
    assert sorted(cleaned) == ["a", "b"]
