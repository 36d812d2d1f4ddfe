"""Screenshots of the main window (offscreen, 1366x768) for reviewing the look.

Usage: .venv/bin/python scripts/screenshot.py [OUTPUT_DIR]   (default: screenshots/)

Builds the shell with a temporary data folder, the real built-in content, a fake GPU and
a real demo BackendManager (the Ollama simulator is started, so its card shows live state and
log lines), selects a rule, and saves one PNG per page, the Backends tab of the settings
(top and the Ollama card), plus the English Create page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from ai4artsed_desktop.backends.manager import BackendManager  # noqa: E402
from ai4artsed_desktop.content.schema import ContentLibrary  # noqa: E402
from ai4artsed_desktop.paths import AppPaths, resources_dir  # noqa: E402
from ai4artsed_desktop.settings_store import SettingsStore  # noqa: E402
from ai4artsed_desktop.system.gpu import FakeGpuProvider  # noqa: E402
from ai4artsed_desktop.tasks import TaskRegistry  # noqa: E402
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage  # noqa: E402
from ai4artsed_desktop.ui.shell import Shell, build_shell  # noqa: E402

GIB = 2**30
SIZE = (1366, 768)
PREFERRED_CONFIG = "bauhaus"


def load_real_content(user_dir: Path) -> ContentLibrary:
    from ai4artsed_desktop.content.loader import load_content

    return load_content(resources_dir() / "configs", user_dir)


def write_fake_gpu(path: Path) -> None:
    gpu = {
        "index": 0,
        "name": "NVIDIA GeForce RTX 4090",
        "uuid": "GPU-screenshot",
        "total_bytes": 24 * GIB,
        "used_bytes": int(3.1 * GIB),
        "free_bytes": 24 * GIB - int(3.1 * GIB),
        "utilization_percent": 12,
        "temperature_c": 41,
        "processes": [
            {"pid": 4711, "name": "ollama", "used_bytes": int(2.2 * GIB)},
            {"pid": 4712, "name": "python (ComfyUI)", "used_bytes": int(0.9 * GIB)},
        ],
    }
    path.write_text(json.dumps({"driver": "550.54", "gpus": [gpu]}), encoding="utf-8")


async def capture(out_dir: Path, base: Path) -> list[Path]:
    paths = AppPaths.under(base / "appdata")
    paths.ensure()
    write_fake_gpu(base / "gpu.json")
    store = SettingsStore.load(paths.settings_file)
    content = load_real_content(paths.user_content_dir)
    store.set("demo_mode", True)
    tasks = TaskRegistry("screenshot")
    manager = BackendManager(store.current, paths, demo=True)
    try:
        shell = build_shell(
            paths=paths,
            store=store,
            content=content,
            gpu=FakeGpuProvider(base / "gpu.json"),
            tasks=tasks,
            manager=manager,
        )
        saved = await _pages(shell, content, out_dir, manager)
        await shell.shutdown()
    finally:
        await manager.shutdown()
    await tasks.cancel_all()
    shell.window.hide()
    shell.window.deleteLater()
    return saved


async def _grab(window: QWidget, target: Path) -> Path:
    await asyncio.sleep(0.05)  # let layouts settle before grabbing
    window.grab().save(str(target))
    return target


async def _pages(
    shell: Shell, content: ContentLibrary, out_dir: Path, manager: BackendManager
) -> list[Path]:
    window = shell.window
    window.resize(*SIZE)
    window.show()
    await manager.ensure_ready("ollama")
    await shell.status.refresh()
    configs = content.sorted_interceptions()
    if configs:
        chosen = PREFERRED_CONFIG if PREFERRED_CONFIG in content.interceptions else configs[-1].id
        shell.create_vm.choose_config(chosen)
    shell.create_vm.set_idea("Ein Leuchtturm, der verlorene Geräusche sammelt")
    saved = []
    for page in ("create", "history", "training", "settings"):
        window.show_page(page)
        saved.append(await _grab(window, out_dir / f"{page}_de.png"))
    settings_page = window.pages["settings"]
    assert isinstance(settings_page, SettingsPage)
    settings_page.show_tab("backends")
    saved.append(await _grab(window, out_dir / "settings_backends_de.png"))
    settings_page.backends.show_card("ollama")
    saved.append(await _grab(window, out_dir / "settings_backends_ollama_de.png"))
    shell.settings_vm.set_value("ui.language", "en")
    saved.append(await _grab(window, out_dir / "settings_backends_ollama_en.png"))
    window.show_page("create")
    saved.append(await _grab(window, out_dir / "create_en.png"))
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="screenshots", type=Path)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp, asyncio.Runner(loop_factory=qasync.QEventLoop) as r:
        saved = r.run(capture(args.out_dir.resolve(), Path(tmp)))
    for path in saved:
        print(path)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
