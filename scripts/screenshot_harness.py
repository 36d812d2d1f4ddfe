"""The one harness of the screenshot scripts: offscreen Qt, a demo window, waiting, grabbing.

Importing it sets the offscreen platform and, as root, Chromium's sandbox switch (both
are read when the QApplication and the web engine start, in :func:`main`). A script
writes ``async def capture(out_dir, tmp, args) -> list[Path]`` (usually ``async with
demo_world(tmp, ...) as world:``) and ends with ``raise SystemExit(main(capture,
__doc__))``.

``demo_world`` builds the window the way ``app.py`` does (a fresh data folder, the real
built-in content, demo simulators, run store, pipeline services, a fake GPU with 24 GiB,
optionally a TrainingService and the teacher's review log) and takes it down again.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses root

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtWidgets import QApplication, QScrollArea, QWidget  # noqa: E402

from ai4artsed_desktop.backends.manager import BackendManager  # noqa: E402
from ai4artsed_desktop.content.schema import ContentLibrary  # noqa: E402
from ai4artsed_desktop.paths import AppPaths, resources_dir  # noqa: E402
from ai4artsed_desktop.pipeline.runner import RunServices  # noqa: E402
from ai4artsed_desktop.pipeline.services import build_services  # noqa: E402
from ai4artsed_desktop.settings_store import SettingsStore  # noqa: E402
from ai4artsed_desktop.store.review_log import FILE_NAME, ReviewLog  # noqa: E402
from ai4artsed_desktop.store.runs import RunStore  # noqa: E402
from ai4artsed_desktop.system.gpu import FakeGpuProvider  # noqa: E402
from ai4artsed_desktop.tasks import TaskRegistry  # noqa: E402
from ai4artsed_desktop.training.service import TrainingService  # noqa: E402
from ai4artsed_desktop.ui.qt_async import run_qt_loop  # noqa: E402
from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme  # noqa: E402
from ai4artsed_desktop.ui.shell import Shell, build_shell  # noqa: E402
from scripts.screenshot import load_real_content, write_fake_gpu  # noqa: E402

SIZE = (1366, 768)
#: A small laptop and a maximised window on a full-HD screen.
SIZES = ((1366, 768), (1920, 1080))
TIMEOUT_S = 60.0


async def until(condition: Callable[[], object], what: str, timeout_s: float = TIMEOUT_S) -> None:
    """Wait (polling the Qt loop) until ``condition()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError(f"waited {timeout_s:g} s for {what}")
        await asyncio.sleep(0.02)


def scroll(widget: QWidget, *, down: bool) -> None:
    """Scroll every scroll area below ``widget`` to its end (or back to the top)."""
    for area in widget.findChildren(QScrollArea):
        bar = area.verticalScrollBar()
        bar.setValue(bar.maximum() if down else bar.minimum())


async def grab(window: QWidget, target: Path, *, scroll_down: QWidget | None = None) -> Path:
    """Save the window; ``scroll_down``'s scroll areas are scrolled to the end first."""
    await asyncio.sleep(0.1)  # let layouts settle before grabbing
    if scroll_down is not None:
        scroll(scroll_down, down=True)
        await asyncio.sleep(0.1)
    window.grab().save(str(target))
    return target


async def both_sizes(window: QWidget, out_dir: Path, name: str) -> list[Path]:
    """The window at each of :data:`SIZES`, saved as ``<name>_<w>x<h>.png``."""
    saved = []
    for width, height in SIZES:
        window.resize(width, height)
        saved.append(await grab(window, out_dir / f"{name}_{width}x{height}.png"))
    window.resize(*SIZE)
    return saved


async def each_language_and_size(shell: Shell, out_dir: Path, name: str) -> list[Path]:
    """The window in German and English at each size, as ``<name>_<lang>_<w>x<h>.png``."""
    saved = []
    for language in ("de", "en"):
        shell.settings_vm.set_value("ui.language", language)
        saved += await both_sizes(shell.window, out_dir, f"{name}_{language}")
    return saved


@dataclass
class DemoWorld:
    """The demo window and what it runs on (see the module's docstring)."""

    base: Path
    paths: AppPaths
    store: SettingsStore
    gpu: FakeGpuProvider
    content: ContentLibrary
    manager: BackendManager
    services: RunServices
    shell: Shell
    training: TrainingService | None


@asynccontextmanager
async def demo_world(
    base: Path,
    *,
    configure: Callable[[SettingsStore, Path], None] | None = None,
    training: bool = False,
    review_log: bool = False,
) -> AsyncIterator[DemoWorld]:
    """Build the demo window in ``base``; ``configure(store, base)`` runs before the build."""
    paths = AppPaths.under(base / "appdata")
    paths.ensure()
    write_fake_gpu(base / "gpu.json")
    gpu = FakeGpuProvider(base / "gpu.json")
    store = SettingsStore.load(paths.settings_file)
    if configure is not None:
        configure(store, base)
    content = load_real_content(paths.user_content_dir)
    tasks = TaskRegistry("screenshot")
    manager = BackendManager(store.current, paths, demo=True)
    arbiter = manager.arbiter(gpu)
    trainer = TrainingService(store.current, paths, arbiter, gpu=gpu) if training else None
    run_store = RunStore(paths.runs_dir)
    services = build_services(
        backends=manager,
        content=content,
        settings=lambda: store.current,
        store=run_store,
        workflows_dir=resources_dir() / "workflows",
        arbiter=arbiter,
        gpu_busy=trainer.gpu_busy_reason if trainer is not None else None,
        review_log=ReviewLog(paths.data_dir / FILE_NAME) if review_log else None,
    )
    shell = build_shell(
        paths=paths, store=store, content=content, gpu=gpu, tasks=tasks, manager=manager,
        demo=True, services=services, training=trainer,
    )  # fmt: skip
    try:
        yield DemoWorld(base, paths, store, gpu, content, manager, services, shell, trainer)
    finally:
        await shell.shutdown()
        if trainer is not None and trainer.busy:
            await trainer.stop()
        await services.providers.aclose()
        await manager.shutdown()
        await tasks.cancel_all()
        run_store.close()
        shell.window.hide()
        shell.window.deleteLater()
        # Let Qt delete the window (and the code sandbox's web engine) while the loop runs:
        # a web view left for interpreter exit outlives its profile and crashes the process.
        await asyncio.sleep(0.2)


def main(
    capture: Callable[[Path, Path, argparse.Namespace], Awaitable[list[Path]]],
    doc: str | None,
    *,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """Parse ``[OUTPUT_DIR]`` (and ``options``), run ``capture(out_dir, tmp, args)`` on the
    Qt loop the way ``app.py`` runs it, print the saved files."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="screenshots", type=Path)
    if options is not None:
        options(parser)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    register_sandbox_scheme()  # before the QApplication exists (QtWebEngine's rule)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    saved: list[Path] = []

    async def run(tmp: Path) -> None:
        saved.extend(await capture(args.out_dir.resolve(), tmp, args))

    with tempfile.TemporaryDirectory() as tmp:
        run_qt_loop(app, run(Path(tmp)))  # a clean exit after the web engine
    for path in saved:
        print(path, flush=True)
    del app
    return 0
