"""Time from the Generate click to the first preview frame shown on the Create page.

The Ollama simulator (``FAKE_OLLAMA_TOKEN_MS=0``) and the ComfyUI simulator
(``FAKE_COMFY_STEP_MS=0``, previews on) run as child processes on 127.0.0.1; the Create
page is built the way the app builds it (``CreatePage`` over a ``RunViewModel`` with
``build_services`` over a remote-mode ``BackendManager``, a ``RunStore`` in a temporary
folder) in an offscreen ``QApplication`` on a qasync loop. Each round transforms the idea
(not timed), then times ``RunViewModel.generate()`` (what the Generate button calls) until
the first ``preview`` frame has been decoded and fitted by the result view (a slot
connected after the view's own), then waits for the run to finish. Since the simulators
answer at once, what is measured is our own work before the first frame: the safety check
of the prompt, the translation, the workflow mapping, the websocket set-up and the decoding.

Run: ``python -m benchmarks.first_preview [--runs N] [--output sd15]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.paths import AppPaths, resources_dir
from ai4artsed_desktop.pipeline.services import build_services
from ai4artsed_desktop.settings_store import SettingsStore
from ai4artsed_desktop.store.runs import RunStore

from ._stats import machine, summary
from .orchestration import IDEA, simulator

TIMEOUT_S = 60.0


async def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.001)


async def bench(runs: int, output_id: str, work: Path) -> list[str]:
    """Time ``runs`` generations (after one warm-up); the printed lines."""
    from ai4artsed_desktop.ui.qt_async import asyncgen_hooks

    with asyncgen_hooks(asyncio.get_running_loop()):  # as the app runs its loop
        return await _bench(runs, output_id, work)


async def _bench(runs: int, output_id: str, work: Path) -> list[str]:
    from ai4artsed_desktop.ui.i18n import Translator
    from ai4artsed_desktop.ui.pages.create_page import CreatePage
    from ai4artsed_desktop.ui.viewmodels.create_vm import CreateViewModel
    from ai4artsed_desktop.ui.viewmodels.run_vm import RunPhase, RunViewModel
    from ai4artsed_desktop.ui.viewmodels.settings_vm import SettingsViewModel

    content = load_content(resources_dir() / "configs")
    paths = AppPaths.under(work / "app")
    paths.ensure()
    with (
        simulator("ollama", work, {"FAKE_OLLAMA_TOKEN_MS": "0"}) as ollama_url,
        simulator("comfyui", work, {"FAKE_COMFY_STEP_MS": "0"}) as comfy_url,
    ):
        store = SettingsStore.load(paths.settings_file)
        for dotted, value in (
            ("ollama.mode", "remote"),
            ("ollama.url", ollama_url),
            ("comfyui.mode", "remote"),
            ("comfyui.url", comfy_url),
            ("image_engine", "comfyui"),
            ("safety.level", "youth"),
        ):
            store.set(dotted, value)
        manager = BackendManager(store.current, paths, demo=False)
        run_store = RunStore(paths.runs_dir)
        services = build_services(
            backends=manager,
            content=content,
            settings=lambda: store.current,
            store=run_store,
            workflows_dir=resources_dir() / "workflows",
        )
        translator = Translator("de")
        settings_vm = SettingsViewModel(store, translator)
        create_vm = CreateViewModel(content, settings_vm)
        vm = RunViewModel(create_vm, settings_vm, services)
        page = CreatePage(
            create_vm,
            translator,
            resources_dir() / "icons" / "configs",
            resources_dir() / "icons" / "app" / "rule.svg",
            run_vm=vm,
        )
        page.resize(1366, 768)
        page.show()
        assert page.run_panel is not None
        view = page.run_panel.result_view
        shown: list[float] = []
        vm.preview.connect(lambda _data: shown.append(time.perf_counter()))  # after the view
        create_vm.choose_config("bauhaus")
        create_vm.set_idea(IDEA)
        if not vm.select_output(output_id):
            raise SystemExit(f"output {output_id!r} cannot run")
        samples: list[float] = []
        frames: list[float] = []
        try:
            for i in range(runs + 1):  # the first round warms up connections and "models"
                create_vm.set_idea(f"{IDEA} ({i})")  # a new session each round
                vm.transform()
                await _until(lambda: not vm.busy, "the transformation")
                if vm.phase is not RunPhase.transformed:
                    raise RuntimeError(f"transform ended {vm.phase}: {page.run_panel.message}")
                shown.clear()
                begin = time.perf_counter()
                vm.generate()
                await _until(lambda: bool(shown), "the first preview")
                first = (shown[0] - begin) * 1000
                if view.image.isNull():
                    raise RuntimeError("the preview was not shown")
                await _until(lambda: not vm.busy, "the generation")
                if vm.phase is not RunPhase.done:
                    raise RuntimeError(f"generation ended {vm.phase}: {page.run_panel.message}")
                if i:
                    samples.append(first)
                    frames.append(len(shown))
        finally:
            await vm.shutdown()
            await services.providers.aclose()
            await manager.shutdown()
            settings_vm.shutdown()
            run_store.close()
            page.hide()
            page.deleteLater()
    return [
        summary(f"{output_id}: Generate -> first preview shown", samples),
        f"({sum(frames) / len(frames):.0f} preview frames per run on average)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs")
    parser.add_argument("--output", default="sd15", help="an image output id")
    args = parser.parse_args()

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with (
        tempfile.TemporaryDirectory(prefix="first-preview-bench-") as tmp,
        asyncio.Runner(loop_factory=qasync.QEventLoop) as runner,
    ):
        lines = runner.run(bench(args.runs, args.output, Path(tmp)))
    del app
    print(f"# first preview ({machine()})")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
