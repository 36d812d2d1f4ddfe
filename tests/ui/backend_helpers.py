"""Helpers for UI tests with a real BackendManager (demo simulators as child processes)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psutil

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.settings import Settings

from .helpers import run

SIMULATOR_MODULE = "ai4artsed_desktop.simulators"
#: Generous: a simulator starts in well under a second, but CI machines are shared.
START_TIMEOUT_MS = 20_000


def simulator_children() -> list[psutil.Process]:
    """Live simulator processes below this test process."""
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and SIMULATOR_MODULE in " ".join(
                child.cmdline()
            ):
                found.append(child)
        except psutil.Error:
            continue
    return found


def managed_manager(
    qtbot: Any, app_paths: AppPaths, settings: Settings, *, demo: bool
) -> Iterator[BackendManager]:
    """A real manager that is always shut down afterwards (fixture body)."""
    manager = BackendManager(settings, app_paths, demo=demo, remote_check_interval=0.2)
    try:
        yield manager
    finally:
        run(qtbot, manager.shutdown(grace=2.0), timeout=START_TIMEOUT_MS)
        assert simulator_children() == []
