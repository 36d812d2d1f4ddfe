"""Garbage is collected on the main thread, never in a worker that happens to allocate."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ai4artsed_desktop.ui.main_thread_gc import MainThreadCollector


class Marker:
    """Part of a reference cycle; says in which thread it was freed."""

    def __init__(self, freed_in: list[str]) -> None:
        self.freed_in = freed_in
        self.me = self  # only the cyclic collector can free it

    def __del__(self) -> None:
        self.freed_in.append(threading.current_thread().name)


def _allocate_in_a_worker() -> None:
    def churn() -> None:
        for _ in range(50_000):  # far over the first generation's threshold
            cycle: list[object] = []
            cycle.append(cycle)

    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()


@pytest.fixture
def collector(qapp: Any) -> Iterator[MainThreadCollector]:
    gc.collect()
    yield MainThreadCollector(interval_ms=10)
    gc.enable()


def test_without_it_a_worker_frees_the_cycle(collector: MainThreadCollector) -> None:
    freed_in: list[str] = []
    gc.enable()
    Marker(freed_in)
    _allocate_in_a_worker()
    assert freed_in == ["worker"]  # the hazard the collector exists for


def test_with_it_the_main_thread_frees_the_cycle(
    qtbot: Any, collector: MainThreadCollector
) -> None:
    freed_in: list[str] = []
    collector.start()
    try:
        assert not gc.isenabled()
        Marker(freed_in)
        _allocate_in_a_worker()
        assert freed_in == []
        qtbot.waitUntil(lambda: bool(freed_in))  # the timer collects
        assert freed_in == [threading.main_thread().name]
    finally:
        collector.stop()
    assert gc.isenabled()


def test_check_collects_only_what_is_due(collector: MainThreadCollector) -> None:
    collector.start()
    try:
        gc.collect()
        assert collector.check() == -1
        junk = [[] for _ in range(gc.get_threshold()[0] + 10)]
        assert collector.check() == 0
        del junk
    finally:
        collector.stop()
