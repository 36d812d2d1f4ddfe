"""Bootstrap of the window and its ordered asynchronous shutdown (the only core Qt module).

paths -> logging -> QApplication -> qasync loop -> services -> view-models -> MainWindow.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import dataclass, field

from . import APP_NAME, __version__, logging_setup
from .backends.manager import BackendManager
from .backends.vram import VramArbiter
from .content.loader import load_content
from .content.schema import ContentLibrary
from .errors import AppError
from .instance_lock import InstanceLock, describe_holder, lock_path
from .paths import AppPaths, resources_dir
from .pipeline.runner import RunServices
from .pipeline.services import build_services
from .settings import Settings
from .settings_store import SettingsStore
from .store.review_log import FILE_NAME as REVIEW_LOG_FILE
from .store.review_log import ReviewLog
from .store.runs import RunStore
from .system import gpu as gpu_mod
from .tasks import TaskRegistry
from .teacher_lock import TeacherLock, default_path
from .training.service import TrainingService

log = logging.getLogger(__name__)

LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def _has_display() -> bool:
    """False on a Linux machine without X11 or Wayland (a server, a CI box)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _prepare_qt_environment(smoke_test: bool) -> str:
    """Set up Qt's environment; returns an error message when no window can be shown.

    Chromium (QtWebEngine) refuses to run as root without its sandbox switched off, and a
    smoke test on a machine without a display renders offscreen.
    """
    if not _has_display():
        if not smoke_test:
            return (
                "No display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window "
                "cannot open. Start the app from a desktop session, or use `doctor` / `run`."
            )
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        log.info("No display: the smoke test renders offscreen")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root and "QTWEBENGINE_DISABLE_SANDBOX" not in os.environ:
        os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
        log.warning(
            "Running as root: the Chromium sandbox of the code view is switched off "
            "(QTWEBENGINE_DISABLE_SANDBOX=1). Run the app as a normal user where possible."
        )
    return ""


@dataclass
class _Outcome:
    exit_code: int = 0
    crashes: list[str] = field(default_factory=list)


def run_window(args: argparse.Namespace) -> int:
    """Start the desktop app (or the ``--smoke-test``); returns the process exit code."""
    paths = AppPaths.from_cli(args.data_dir)
    instance = InstanceLock(lock_path(paths.state_dir))
    try:
        paths.ensure()
        # The lock comes first: a second start must touch nothing of the first one's
        # (log files, pid records, backends); it only asks the first window to show itself.
        if not instance.acquire():
            return _hand_over(paths, instance, smoke_test=args.smoke_test)
        logging_setup.configure(
            paths.log_dir, level=LOG_LEVELS[args.log_level], json_format=args.log_format == "json"
        )
    except OSError as exc:
        print(f"{APP_NAME}: cannot create its folders: {exc}", file=sys.stderr)
        return 1
    try:
        return _run_window_locked(args, paths)
    finally:
        instance.release()


def _hand_over(paths: AppPaths, instance: InstanceLock, *, smoke_test: bool) -> int:
    """A window already owns this data folder: bring it to the front, start nothing."""
    holder = describe_holder(instance.holder())
    if smoke_test:
        print(
            f"{APP_NAME}: the app is already open for this data folder ({holder}); "
            "run the smoke test with its own --data-dir.",
            file=sys.stderr,
        )
        return 1
    from PySide6.QtCore import QCoreApplication

    from .ui.single_instance import ask_first_to_raise, server_name

    if QCoreApplication.instance() is None:
        _app = QCoreApplication(sys.argv[:1])  # the local socket needs an application object
    if ask_first_to_raise(server_name(paths.data_dir)):
        print(
            f"{APP_NAME} is already open for this data folder ({holder}); "
            "its window was brought to the front.",
            file=sys.stderr,
        )
        return 0
    print(
        f"{APP_NAME} is already open for this data folder ({holder}), but its window did "
        "not answer. Wait until it has started, or close it (Task Manager / kill) and start "
        "again.",
        file=sys.stderr,
    )
    return 1


def _run_window_locked(args: argparse.Namespace, paths: AppPaths) -> int:
    """The window itself, once this process holds the data folder's instance lock."""
    problem = _prepare_qt_environment(args.smoke_test)
    if problem:
        log.error("%s", problem)
        print(f"{APP_NAME}: {problem}", file=sys.stderr)
        return 1
    gpu = gpu_mod.default_provider()
    logging_setup.log_banner(gpu_mod.describe(gpu.snapshot()))

    from PySide6.QtWidgets import QApplication

    from .ui.sandbox_scheme import register_sandbox_scheme

    register_sandbox_scheme()  # before the QApplication exists (QtWebEngine's rule)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("ai4artsed-desktop")  # Wayland matches it to the .desktop entry
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "app" / "ai4artsed-desktop.svg")))
    app.setQuitOnLastWindowClosed(False)  # we quit ourselves, after the async shutdown
    outcome = _Outcome()
    from .ui.main_thread_gc import MainThreadCollector
    from .ui.qt_async import run_qt_loop

    collector = MainThreadCollector(app)  # no Qt object is ever freed in a worker thread
    collector.start()
    try:
        run_qt_loop(app, _run_app(args, paths, gpu, outcome))
    finally:
        collector.stop()
        if isinstance(gpu, gpu_mod.NvmlProvider):
            gpu.close()
    log.info("Exit with code %d", outcome.exit_code)
    logging.shutdown()
    return outcome.exit_code


async def _run_app(
    args: argparse.Namespace, paths: AppPaths, gpu: gpu_mod.GpuProvider, outcome: _Outcome
) -> None:
    from PySide6.QtCore import QTimer

    from .ui.excepthook import install_excepthook
    from .ui.shell import build_shell
    from .ui.single_instance import InstanceServer, bring_to_front, server_name

    store = SettingsStore.load(paths.settings_file)
    content = load_content(resources_dir() / "configs", paths.user_content_dir)
    for problem in content.problems:
        log.warning("Content file skipped: %s", problem)
    demo = bool(args.demo or store.current.demo_mode)
    tasks = TaskRegistry("app")
    quit_requested = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_crash(summary: str) -> None:
        outcome.crashes.append(summary)
        if args.smoke_test:
            quit_requested.set()

    install_excepthook(paths.log_dir, on_crash=on_crash, interactive=not args.smoke_test)
    manager = BackendManager(store.current, paths, demo=demo)
    arbiter = manager.arbiter(gpu)
    training = TrainingService(store.current, paths, arbiter, gpu=gpu, demo=demo)
    store.subscribe(lambda _old, new: training.update_settings(new))
    services = await _open_run_services(paths, store, content, manager, arbiter, training, demo)
    if services is not None and services.models is not None:
        # Check the outputs' model files whenever the image engine becomes ready.
        board = services.models
        manager.add_listener(board.watch(manager, lambda: store.current.image_engine))
        # Look the vision model up whenever Ollama is ready (kids grey pictures without one).
        manager.add_listener(board.watch_vision())
        store.subscribe(lambda old, new: board.forget() if _engine_changed(old, new) else None)
        board.check_disk()  # the quick size + header check at every start
    shell = build_shell(
        paths=paths,
        store=store,
        content=content,
        gpu=gpu,
        tasks=tasks,
        demo=demo,
        manager=manager,
        demo_forced=bool(args.demo),
        services=services,
        training=training,
        lock=TeacherLock(default_path(paths.config_dir)),
    )
    if not store.current.ui.first_run_done and not args.smoke_test:
        from .ui.pages.first_run import start_first_run

        start_first_run(shell.window, shell.settings_vm, shell.translator, gpu, tasks, content)
    shell.window.close_requested.connect(quit_requested.set)
    second_starts = InstanceServer(server_name(paths.data_dir), shell.window)
    second_starts.raise_requested.connect(lambda: bring_to_front(shell.window))
    second_starts.listen()
    _install_signal_handlers(loop, quit_requested)
    # Python signal handlers only run when Python code runs; a cheap timer wakes it up.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    shell.window.restore_geometry()
    shell.window.show()
    log.info("Window shown (demo backends: %s)", demo)
    if args.smoke_test:
        loop.call_later(0.5, quit_requested.set)
    await quit_requested.wait()
    wake.stop()
    second_starts.close()
    shell.window.save_geometry()
    # Ordered shutdown: view-models first (they use services), then the backends and their
    # process trees, then whatever background tasks remain.
    await shell.shutdown()
    if training.busy:
        await training.stop()
    if services is not None:
        await services.providers.aclose()
        if services.models is not None:
            await services.models.aclose()
    await manager.shutdown()
    await tasks.cancel_all()
    if services is not None:
        services.store.close()
    shell.window.hide()
    shell.window.deleteLater()
    if outcome.crashes:
        outcome.exit_code = 1


async def _open_run_services(
    paths: AppPaths,
    store: SettingsStore,
    content: ContentLibrary,
    manager: BackendManager,
    arbiter: VramArbiter,
    training: TrainingService,
    demo: bool,
) -> RunServices | None:
    """The run store (retention applied) and the pipeline services.

    None if the store cannot be opened: the window still starts and says why.
    """
    try:
        run_store = await asyncio.to_thread(RunStore, paths.runs_dir)
        days = store.current.retention_days
        if days > 0:
            removed = await asyncio.to_thread(run_store.apply_retention, days)
            log.info("Retention: %d run(s) older than %d days deleted", removed, days)
    except AppError as exc:
        log.error("Run history unavailable: %s (%s)", exc.user_message, exc.detail)
        return None
    review_log = ReviewLog(paths.data_dir / REVIEW_LOG_FILE)
    if days > 0:
        try:
            removed = await asyncio.to_thread(review_log.apply_retention, days)
            log.info("Retention: %d review-log entries older than %d days deleted", removed, days)
        except AppError as exc:  # blocks still block; the log says why it is not written
            log.error("Review log unavailable: %s (%s)", exc.user_message, exc.detail)
    return build_services(
        backends=manager,
        content=content,
        settings=lambda: store.current,
        store=run_store,
        workflows_dir=resources_dir() / "workflows",
        arbiter=arbiter,
        gpu_busy=training.gpu_busy_reason,
        demo=demo,
        comfy_output=manager.comfy_output_dir,
        review_log=review_log,
    )


def _engine_changed(old: Settings, new: Settings) -> bool:
    """True when workflows now run elsewhere (the model check must start over)."""
    return (old.image_engine, old.comfyui, old.swarmui, old.demo_mode) != (
        new.image_engine,
        new.comfyui,
        new.swarmui,
        new.demo_mode,
    )


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("Signal %d received, shutting down", signum)
        loop.call_soon_threadsafe(event.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
