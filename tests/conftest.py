"""Shared fixtures: offscreen Qt, the qloop fixture, fail-on-noise logging."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# Must be set before any Qt import (the app sets them itself only where needed).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

import pytest
from hypothesis import settings as hypothesis_settings

from ai4artsed_desktop.paths import AppPaths

# Property tests are deterministic by default (the same examples on every run and in CI);
# HYPOTHESIS_PROFILE=explore draws new random examples, many more of them, to hunt for bugs.
hypothesis_settings.register_profile("default", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", derandomize=False, deadline=None, max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-real-backends",
        action="store_true",
        default=False,
        help="run tests marked real_ollama against real servers",
    )
    parser.addoption(
        "--run-real-peers",
        action="store_true",
        default=False,
        help="run the contract tier (tests marked real_peers): the real ComfyUI and sd-scripts",
    )


def pytest_configure(config: pytest.Config) -> None:
    # QtWebEngine: the sandbox scheme is registered and QtWebEngineWidgets imported before
    # pytest-qt's qapp creates the QApplication (both are refused afterwards).
    from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme

    register_sandbox_scheme()


def _nvidia_gpu_present() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return False
    try:
        return bool(pynvml.nvmlDeviceGetCount())
    finally:
        pynvml.nvmlShutdown()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu = None
    for item in items:
        if "gpu" in item.keywords:
            if gpu is None:
                gpu = _nvidia_gpu_present()
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="no NVIDIA GPU visible through NVML"))
        if "real_ollama" in item.keywords and not config.getoption("--run-real-backends"):
            item.add_marker(pytest.mark.skip(reason="needs --run-real-backends"))
        if "real_peers" in item.keywords and not config.getoption("--run-real-peers"):
            item.add_marker(pytest.mark.skip(reason="contract tier: needs --run-real-peers"))


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """Isolated app folders below the test's tmp_path."""
    paths = AppPaths.under(tmp_path / "appdata")
    paths.ensure()
    return paths


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_unexpected_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that logs WARNING or above unless it declares ``expect_log_warnings``.

    Tests that provoke warnings on purpose use the ``caplog`` fixture to assert on them and
    mark themselves with ``@pytest.mark.usefixtures("expect_log_warnings")``.
    """
    handler = _WarningCollector()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if "expect_log_warnings" in request.fixturenames:
        return
    if handler.records:
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in handler.records]
        pytest.fail("unexpected log warnings:\n" + "\n".join(lines))


@pytest.fixture
def expect_log_warnings() -> None:
    """Opt-out marker fixture for :func:`fail_on_unexpected_warnings`."""


@pytest.fixture
def qloop(qapp, qtbot, monkeypatch):  # type: ignore[no-untyped-def]
    """A qasync event loop running inside the test's Qt application.

    Fails the test when tasks are left running or the loop caught an error.
    """
    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.events._set_running_loop(loop)
    asyncio.set_event_loop(loop)
    old_hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(  # as the app does (qasync's loop does not install them)
        firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
    )
    yield loop
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        qtbot.waitUntil(lambda: all(t.done() for t in leftover), timeout=1000)
    monkeypatch.setattr(qapp, "exit", lambda *_a: None)
    sys.set_asyncgen_hooks(*old_hooks)
    loop.stop()
    loop._after_run_forever()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
    loop.close()
    assert not leftover, f"tasks left running: {leftover}"
    assert not errors, f"event loop errors: {errors}"


@pytest.fixture
def python_exe() -> str:
    return sys.executable
