"""Idle memory of the app: the main window alone, and with a QWebEngineView next to it.

Each sample is a fresh Python process (``QT_QPA_PLATFORM=offscreen``,
``QTWEBENGINE_DISABLE_SANDBOX=1`` as root needs). It builds what the app builds at start
(settings, content, backend manager, run store and services, training service, the shell)
and shows the window; the ``webengine`` variant then also shows a ``QWebEngineView`` with
a small page and waits for it to load. After ``--settle`` seconds of idle it reads, with
psutil, RSS and PSS of itself and of all its child processes (QtWebEngineProcess: zygote,
renderer, GPU/utility). RSS summed over processes counts shared pages more than once;
PSS shares them out and is the fairer total.

Run: ``python -m benchmarks.rss [--runs N] [--settle 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from ._stats import machine

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("window", "webengine")
MIB = 2**20


def _memory() -> dict[str, float]:
    me = psutil.Process()
    children = me.children(recursive=True)
    own = me.memory_full_info()
    kids = [c.memory_full_info() for c in children]
    return {
        "app_rss": own.rss / MIB,
        "total_rss": (own.rss + sum(k.rss for k in kids)) / MIB,
        "total_pss": (own.pss + sum(k.pss for k in kids)) / MIB,
        "children": len(children),
    }


async def _child(variant: str, data_dir: Path, settle_s: float) -> dict[str, float]:
    from ai4artsed_desktop.app import _open_run_services
    from ai4artsed_desktop.backends.manager import BackendManager
    from ai4artsed_desktop.content.loader import load_content
    from ai4artsed_desktop.paths import AppPaths, resources_dir
    from ai4artsed_desktop.settings_store import SettingsStore
    from ai4artsed_desktop.system import gpu as gpu_mod
    from ai4artsed_desktop.tasks import TaskRegistry
    from ai4artsed_desktop.training.service import TrainingService
    from ai4artsed_desktop.ui.shell import build_shell

    paths = AppPaths.under(data_dir)
    paths.ensure()
    store = SettingsStore.load(paths.settings_file)
    content = load_content(resources_dir() / "configs", paths.user_content_dir)
    gpu = gpu_mod.default_provider()
    tasks = TaskRegistry("bench")
    manager = BackendManager(store.current, paths, demo=False)
    arbiter = manager.arbiter(gpu)
    training = TrainingService(store.current, paths, arbiter, gpu=gpu)
    services = await _open_run_services(paths, store, content, manager, arbiter, training)
    shell = build_shell(
        paths=paths,
        store=store,
        content=content,
        gpu=gpu,
        tasks=tasks,
        manager=manager,
        services=services,
        training=training,
    )
    shell.window.resize(1366, 768)
    shell.window.show()
    view = None
    if variant == "webengine":
        from PySide6.QtWebEngineWidgets import QWebEngineView

        view = QWebEngineView()
        loaded = asyncio.get_running_loop().create_future()

        def finished(ok: bool) -> None:
            if not loaded.done():
                loaded.set_result(ok)

        view.loadFinished.connect(finished)
        view.setHtml("<html><body><h1>p5.js</h1><canvas width=400 height=400></canvas></body>")
        view.resize(800, 600)
        view.show()
        if not await asyncio.wait_for(loaded, 60):
            raise RuntimeError("the web view did not load its page")
    await asyncio.sleep(settle_s)
    result = _memory()
    if view is not None:
        view.close()
        view.deleteLater()
    await shell.shutdown()
    if services is not None:
        await services.providers.aclose()
    await manager.shutdown()
    await tasks.cancel_all()
    if services is not None:
        services.store.close()
    shell.window.close()
    return result


def run_child(variant: str, settle_s: float) -> None:
    import qasync
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    if variant == "webengine":
        # Qt WebEngine must be loaded, with shared OpenGL contexts, before the application.
        from PySide6 import QtWebEngineWidgets  # noqa: F401

        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    with (
        tempfile.TemporaryDirectory(prefix="rss-bench-") as tmp,
        asyncio.Runner(loop_factory=qasync.QEventLoop) as runner,
    ):
        result = runner.run(_child(variant, Path(tmp), settle_s))
    del app
    print(json.dumps(result))


def one_sample(variant: str, settle_s: float) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    argv = [sys.executable, "-m", "benchmarks.rss", "--child", variant]
    argv += ["--settle", str(settle_s)]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} sample failed ({proc.returncode}):\n{proc.stderr}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _line(name: str, samples: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(samples):.1f} MiB "
        f"(min {min(samples):.1f}, max {max(samples):.1f}) over {len(samples)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per variant")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before reading")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.settle)
        return
    lines = []
    for variant in VARIANTS:
        samples = [one_sample(variant, args.settle) for _ in range(args.runs)]
        label = "main window" if variant == "window" else "main window + QWebEngineView"
        procs = int(statistics.median(s["children"] for s in samples)) + 1
        lines.append(_line(f"idle RSS, {label}, app process", [s["app_rss"] for s in samples]))
        if procs > 1:
            total = [s["total_rss"] for s in samples]
            lines.append(_line(f"idle RSS, {label}, all {procs} processes", total))
        pss = [s["total_pss"] for s in samples]
        where = f"all {procs} processes" if procs > 1 else "app process"
        lines.append(_line(f"idle PSS, {label}, {where}", pss))
    print(f"# rss ({machine()})")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
