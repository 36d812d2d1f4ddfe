"""Screenshots of Settings → Models (offscreen) at 1366x768 and 1920x1080, German and English.

Usage: .venv/bin/python scripts/screenshot_models.py [OUTPUT_DIR]   (default: docs/screenshots)

A temporary ComfyUI folder holds SD 1.5 whole (a sparse file of the published size with a
consistent header: the quick check cannot tell it from the real one) and an SDXL file that is
far too short (damaged). SD 3.5 Large is downloading for real while the pictures are taken:
the real downloader fetches from a loopback server that streams at about 60 MB/s with the
published length; the download is cancelled afterwards (its part file is deleted). Also
saves the licence dialog and the end of the list (the Ollama text models of the model roles,
as the demo Ollama simulator lists them) in both languages. Last, ``models_bundle_*``: the
lab bundle row after a real export of this PC's intact files (SD 1.5) to a temporary folder,
with "More about it" open (what a bundle is, this PC's key), in both languages and sizes.
Then ``models_errors_*``: a download the server answers with 404 and an import of that
bundle after its manifest was changed, both refused while the window speaks German, then
grabbed in German and again after the switch to English (the messages follow it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import qasync  # noqa: E402
from aiohttp import web  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ai4artsed_desktop.backends.manager import BackendManager  # noqa: E402
from ai4artsed_desktop.content.loader import load_content  # noqa: E402
from ai4artsed_desktop.models.catalogue import Catalogue, load_catalogue  # noqa: E402
from ai4artsed_desktop.paths import AppPaths, resources_dir  # noqa: E402
from ai4artsed_desktop.settings_store import SettingsStore  # noqa: E402
from ai4artsed_desktop.system.gpu import FakeGpuProvider  # noqa: E402
from ai4artsed_desktop.tasks import TaskRegistry  # noqa: E402
from ai4artsed_desktop.ui.pages.settings_page import SettingsPage  # noqa: E402
from ai4artsed_desktop.ui.shell import Shell, build_shell  # noqa: E402
from ai4artsed_desktop.ui.viewmodels.models_vm import ModelsViewModel  # noqa: E402
from ai4artsed_desktop.ui.widgets.bundle_box import BundleBox  # noqa: E402
from ai4artsed_desktop.ui.widgets.models_panel import LicenceDialog, ModelsPanel  # noqa: E402
from scripts.screenshot_harness import SIZES, both_sizes, each_language_and_size  # noqa: E402
from scripts.screenshot_harness import grab as _grab  # noqa: E402
from scripts.screenshot_harness import until as _until  # noqa: E402

SD15 = "v1-5-pruned-emaonly.safetensors"
SD35 = "sd3.5_large_fp8_scaled.safetensors"
RATE = 60_000_000  # bytes per second from the loopback server
STREAMED_BEFORE_PICTURES = 400_000_000


def sparse_model(path: Path, size: int) -> None:
    """A safetensors file of exactly ``size`` bytes whose header says so; the rest is a hole."""
    data_len = size
    for _ in range(5):
        header = json.dumps(
            {"w": {"dtype": "U8", "shape": [data_len], "data_offsets": [0, data_len]}}
        ).encode()
        header += b" " * (-len(header) % 8)
        data_len = size - 8 - len(header)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(struct.pack("<Q", len(header)) + header)
        out.truncate(size)


async def slow_stream(request: web.Request) -> web.StreamResponse:
    """The published length, zeros at ``RATE``, until the client goes away."""
    length = int(request.app["length"])
    response = web.StreamResponse()
    response.content_length = length
    response.content_type = "application/octet-stream"
    await response.prepare(request)
    chunk = bytes(1024 * 1024)
    sent = 0
    try:
        while sent < length:
            await response.write(chunk[: min(len(chunk), length - sent)])
            sent += len(chunk)
            await asyncio.sleep(len(chunk) / RATE)
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response


def with_url(catalogue: Catalogue, name: str, url: str) -> Catalogue:
    files = dict(catalogue.files)
    files[name] = dataclasses.replace(files[name], urls=(url,))
    return dataclasses.replace(catalogue, files=files)


def _streamed(vm: ModelsViewModel) -> int:
    event = vm.last_progress.get("sd35_large")
    return 0 if event is None else event.done


async def capture(out_dir: Path, base: Path) -> list[Path]:
    catalogue = load_catalogue()
    comfy = base / "ComfyUI"
    sd15_size = catalogue.files[SD15].size
    assert sd15_size is not None
    sparse_model(comfy / "models" / "checkpoints" / SD15, sd15_size)
    short = comfy / "models" / "checkpoints" / "sd_xl_base_1.0.safetensors"
    sparse_model(short, 1_000_000)  # whole-looking, far shorter than published: damaged
    app = web.Application()
    app["length"] = catalogue.files[SD35].size
    app.router.add_get("/sd35", slow_stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/sd35"

    paths = AppPaths.under(base / "appdata")
    paths.ensure()
    (base / "gpu.json").write_text(json.dumps({"driver": "550", "gpus": []}), encoding="utf-8")
    store = SettingsStore.load(paths.settings_file)
    store.set("ui.first_run_done", True)
    store.set("image_engine", "comfyui")
    store.set("comfyui.path", str(comfy))
    tasks = TaskRegistry("screenshot-models")
    manager = BackendManager(store.current, paths, demo=True)  # the Ollama simulator
    await manager.ensure_ready("ollama")
    shell = build_shell(
        paths=paths,
        store=store,
        content=load_content(resources_dir() / "configs", paths.user_content_dir),
        gpu=FakeGpuProvider(base / "gpu.json"),
        tasks=tasks,
        manager=manager,
    )
    vm = shell.models_vm
    assert vm is not None
    vm._catalogue = with_url(catalogue, SD35, url)  # the same entry, fetched from loopback
    window = shell.window
    window.resize(*SIZES[0])
    window.show()
    window.show_page("settings")
    page = window.pages["settings"]
    assert isinstance(page, SettingsPage)
    page.show_tab("models")
    await _until(lambda: bool(vm.rows), "the rows")
    assert vm.get("sd35_large", accepted=True)
    await _until(lambda: _streamed(vm) >= STREAMED_BEFORE_PICTURES, "the download")
    saved = []
    for language in ("de", "en"):
        shell.settings_vm.set_value("ui.language", language)
        saved += await both_sizes(window, out_dir, f"settings_models_{language}")
        panel = page.models
        assert isinstance(panel, ModelsPanel)
        bar = panel.list_area.verticalScrollBar()
        bar.setValue(bar.maximum())
        saved.append(await _grab(window, out_dir / f"settings_models_ollama_{language}.png"))
        bar.setValue(0)
        row = vm.row("sd35_large")
        assert row is not None
        dialog = LicenceDialog(row, shell.translator, window)
        dialog.show()
        saved.append(await _grab(dialog, out_dir / f"settings_models_licence_{language}.png"))
        dialog.close()
    vm.cancel("sd35_large")
    await _until(lambda: not vm.busy("sd35_large"), "the cancel")
    saved += await _bundle(shell, page, base, out_dir)
    saved += await _errors(shell, page, base, out_dir, url.rsplit("/", 1)[0] + "/gone")
    await shell.shutdown()
    await manager.shutdown()
    await tasks.cancel_all()
    await runner.cleanup()
    window.hide()
    window.deleteLater()
    return saved


async def _bundle(shell: Shell, page: SettingsPage, base: Path, out_dir: Path) -> list[Path]:
    """Export this PC's intact model files for real, then the Models tab with the result."""
    bundle_vm = shell.bundle_vm
    assert bundle_vm is not None
    panel = page.models
    assert isinstance(panel, ModelsPanel)
    box = panel.bundle
    assert isinstance(box, BundleBox)
    finished: list[str] = []
    bundle_vm.finished.connect(lambda kind, _report: finished.append(kind))
    assert bundle_vm.export(base / "stick")
    await _until(lambda: bool(finished), "the export", timeout_s=300.0)
    box.more_button.setChecked(True)
    saved = await each_language_and_size(shell, out_dir, "models_bundle")
    box.more_button.setChecked(False)
    return saved


async def _errors(
    shell: Shell, page: SettingsPage, base: Path, out_dir: Path, gone: str
) -> list[Path]:
    """A 404 download and a changed bundle, refused in German, shown in both languages."""
    vm, bundle_vm = shell.models_vm, shell.bundle_vm
    assert vm is not None
    assert bundle_vm is not None
    assert vm.catalogue is not None
    panel = page.models
    assert isinstance(panel, ModelsPanel)
    box = panel.bundle
    assert isinstance(box, BundleBox)
    shell.settings_vm.set_value("ui.language", "de")
    vm._catalogue = with_url(vm.catalogue, SD35, gone)  # the publisher moved the file
    refreshed: list[int] = []
    vm.rows_changed.connect(lambda: refreshed.append(1))
    vm.refresh()  # the rows take the new address
    await _until(lambda: bool(refreshed), "the rows with the new address")
    failed: list[str] = []
    vm.failed.connect(lambda text, _detail: failed.append(text))
    assert vm.get("sd35_large", accepted=True)
    await _until(lambda: bool(failed) and not vm.busy("sd35_large"), "the 404")
    manifest = base / "stick" / "ai4artsed-bundle.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"created"', b'"created" ', 1))
    refused: list[str] = []
    bundle_vm.failed.connect(lambda text, _detail: refused.append(text))
    assert bundle_vm.import_from(base / "stick")
    await _until(lambda: bool(refused) and not bundle_vm.busy, "the refused import")
    return await each_language_and_size(shell, out_dir, "models_errors")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default=REPO / "docs" / "screenshots", type=Path)
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
