"""Screenshots of the safety checks at work (offscreen, 1366x768, German, demo simulators).

Usage: .venv/bin/python scripts/screenshot_safety.py [OUTPUT_DIR]   (default: screenshots/)

* ``create_blocked_interception_de.png``: level "Kinder", the transformed text is judged
  before the child sees it and blocked: the box stays empty, the stage list says where it
  stopped, the friendly reason shows. The verdict on the transformed text is *staged*: the
  simulator's transformation only mixes the idea's and the rules' words, so it never writes
  anything harmful by itself; the script's judge answers UNSAFE for LLM stage texts and
  asks the simulator's judge for everything else.
* ``create_blocked_image_de.png``: level "Kinder", the picture check (stage 6): the
  simulated vision model "sees" a violent scene (``FAKE_OLLAMA_VISION_SEES``), the picture
  is hidden and never saved, the reason shows.
* ``settings_review_log_de.png``: Settings → Prüfprotokoll with both blocks (and the
  teacher switching the picture check off and on again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FAKE_OLLAMA_VISION_SEES"] = "a soldier shoots a man, blood everywhere"
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses root

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtWidgets import QApplication, QScrollArea, QWidget  # noqa: E402

from ai4artsed_desktop.backends.manager import BackendManager  # noqa: E402
from ai4artsed_desktop.paths import AppPaths, resources_dir  # noqa: E402
from ai4artsed_desktop.pipeline.prompts import Message  # noqa: E402
from ai4artsed_desktop.pipeline.safety import BoundJudge, JudgeReply, SafetyGate  # noqa: E402
from ai4artsed_desktop.pipeline.services import build_services  # noqa: E402
from ai4artsed_desktop.settings_store import SettingsStore  # noqa: E402
from ai4artsed_desktop.store.review_log import FILE_NAME, ReviewLog  # noqa: E402
from ai4artsed_desktop.store.runs import RunStore  # noqa: E402
from ai4artsed_desktop.system.gpu import FakeGpuProvider  # noqa: E402
from ai4artsed_desktop.tasks import TaskRegistry  # noqa: E402
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage  # noqa: E402
from ai4artsed_desktop.ui.qt_async import run_qt_loop  # noqa: E402
from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme  # noqa: E402
from ai4artsed_desktop.ui.shell import Shell, build_shell  # noqa: E402
from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase  # noqa: E402
from scripts.screenshot import load_real_content, write_fake_gpu  # noqa: E402
from scripts.screenshot_flows import SIZE, _grab, _parts, _scroll, _until  # noqa: E402

IDEA_TEXT = "Ein Löwe im Zirkus"
IDEA_IMAGE = "Ein Fuchs im Schnee"


def staged_gate(gate: SafetyGate, research: bool) -> SafetyGate:
    """A gate whose judge blocks LLM stage texts and asks the simulator for the rest."""
    real = gate.bound_judge()
    assert real is not None, "the demo has a safety model"

    async def judge(messages: list[Message]) -> JudgeReply:
        if "written by a language model" in messages[0].content:
            return JudgeReply("UNSAFE: violence, an animal is hurt")
        return await real.judge(messages)

    return SafetyGate(source=lambda: BoundJudge(judge, real.model), research_confirmed=research)


async def capture(out_dir: Path, base: Path) -> list[Path]:
    paths = AppPaths.under(base / "appdata")
    paths.ensure()
    write_fake_gpu(base / "gpu.json")
    gpu = FakeGpuProvider(base / "gpu.json")
    store = SettingsStore.load(paths.settings_file)
    store.set("ui.first_run_done", True)
    store.set("ui.ui_mode", "kids")
    store.set("safety.level", "kids")
    store.set("roles.safety", "ollama/qwen3:8b")  # a judge that writes its reasons
    content = load_real_content(paths.user_content_dir)
    tasks = TaskRegistry("screenshot")
    manager = BackendManager(store.current, paths, demo=True)
    run_store = RunStore(paths.runs_dir)
    services = build_services(
        backends=manager,
        content=content,
        settings=lambda: store.current,
        store=run_store,
        workflows_dir=resources_dir() / "workflows",
        arbiter=manager.arbiter(gpu),
        review_log=ReviewLog(paths.data_dir / FILE_NAME),
    )
    shell = build_shell(
        paths=paths, store=store, content=content, gpu=gpu, tasks=tasks, manager=manager,
        demo=True, services=services,
    )  # fmt: skip
    try:
        return await _flows(shell, out_dir)
    finally:
        await shell.shutdown()
        await services.providers.aclose()
        await manager.shutdown()
        await tasks.cancel_all()
        run_store.close()
        shell.window.hide()
        shell.window.deleteLater()
        await asyncio.sleep(0.2)


def _show(panel: QWidget, widget: QWidget) -> None:
    """Scroll the run column so that ``widget`` is in view."""
    for area in panel.findChildren(QScrollArea) + _parents(panel, QScrollArea):
        area.ensureWidgetVisible(widget, 0, 0)


def _parents(widget: QWidget, kind: type[QScrollArea]) -> list[QScrollArea]:
    found, parent = [], widget.parentWidget()
    while parent is not None:
        if isinstance(parent, kind):
            found.append(parent)
        parent = parent.parentWidget()
    return found


async def _flows(shell: Shell, out_dir: Path) -> list[Path]:
    window = shell.window
    window.resize(*SIZE)
    window.show()
    window.show_page("create")
    page, panel, run_vm = _parts(shell)
    services = shell.services
    assert services is not None
    real_gate = services.gate

    services.gate = staged_gate(real_gate, real_gate.research_confirmed)
    shell.create_vm.choose_config("fairy_tale")
    shell.create_vm.set_idea(IDEA_TEXT)
    run_vm.select_output("sd15")
    run_vm.transform()
    await _until(lambda: not run_vm.busy, "the blocked transformation")
    if run_vm.phase is not RunPhase.blocked:
        raise RuntimeError(f"expected a blocked run, got {run_vm.phase}")
    _scroll(page, down=False)
    _show(panel, panel.stages)  # the reason and where the run stopped
    saved = [await _grab(window, out_dir / "create_blocked_interception_de.png")]

    services.gate = real_gate
    shell.create_vm.set_idea(IDEA_IMAGE)
    run_vm.transform()
    await _until(lambda: not run_vm.busy and run_vm.has_transform, "the transformation")
    run_vm.generate()
    await _until(lambda: not run_vm.busy, "the checked picture")
    if run_vm.phase is not RunPhase.blocked:
        raise RuntimeError(f"expected a blocked picture, got {run_vm.phase}")
    _show(panel, panel.result_view)  # where the picture would be: why it is hidden
    saved.append(await _grab(window, out_dir / "create_blocked_image_de.png"))

    settings = shell.settings_vm  # a teacher switches the picture check off and on again
    settings.set_value("safety.media_check", False)
    settings.set_value("safety.media_check", True)
    window.show_page("settings")
    settings_page = window.pages["settings"]
    assert isinstance(settings_page, SettingsPage)
    settings_page.show_tab("review")
    review = settings_page.review
    assert review is not None
    await asyncio.sleep(0.5)  # the two teacher entries are written in worker threads
    review.refresh_button.click()
    await _until(lambda: review.table.rowCount() >= 4, "the review log")
    saved.append(await _grab(window, out_dir / "settings_review_log_de.png"))
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="screenshots", type=Path)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    register_sandbox_scheme()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    saved: list[Path] = []

    async def run(tmp: Path) -> None:
        saved.extend(await capture(args.out_dir.resolve(), tmp))

    with tempfile.TemporaryDirectory() as tmp:
        run_qt_loop(app, run(Path(tmp)))
    for path in saved:
        print(path, flush=True)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
