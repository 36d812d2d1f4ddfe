"""Escape attempts against the code sandbox: storage that outlives a run, and huge memory.

Network, files, navigation, pop-ups and endless loops are covered in test_code_sandbox.py.
Here a sketch tries to leave data behind for the next sketch (and the next app start), and
sketches allocate memory without end: the renderer may die, the app must not, and the next
Play works. The memory tests stay cheap: V8's heap limit ends the first one at about
600 MiB, and the second one runs with a lowered memory guard.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest
from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtWebEngineCore import QWebEnginePage

from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.sandbox_scheme import JS_HEAP_LIMIT_MB
from ai4artsed_desktop.ui.widgets.code_sandbox import MEMORY_LIMIT, CodeSandbox
from tests.ui.helpers import close_sandbox
from tests.ui.test_code_sandbox import (
    LOAD_MS,
    RED_SKETCH,
    WEB_ENGINE_START,
    evaluate,
    pixel,
    run_code,
)

pytestmark = pytest.mark.qt_log_ignore(*WEB_ENGINE_START)

OUT_OF_MEMORY = "The code used too much memory and was stopped. Press Play to try again."

# Sketch 1 writes the marker into every store a page can reach and reads it back, so the
# test sees which stores exist at all; the result lands in window.__stored.
WRITE_STORES = """window.__stored = null;
const MARKER = "%s";
async function attempt(name, write) {
  try { results[name] = String(await write()); } catch (error) { results[name] = "refused"; }
}
const results = {};
(async () => {
  await attempt("localStorage", () => {
    localStorage.setItem("k", MARKER);
    return localStorage.getItem("k");
  });
  await attempt("sessionStorage", () => {
    sessionStorage.setItem("k", MARKER);
    return sessionStorage.getItem("k");
  });
  await attempt("cookie", () => {
    document.cookie = "k=" + MARKER + "; max-age=31536000";
    return document.cookie;
  });
  await attempt("indexedDB", () => new Promise((resolve, reject) => {
    const request = indexedDB.open(MARKER, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("s");
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const put = db.transaction("s", "readwrite");
      put.objectStore("s").put(MARKER, "k");
      put.onerror = () => reject(put.error);
      put.oncomplete = () => {
        const get = db.transaction("s").objectStore("s").get("k");
        get.onsuccess = () => resolve(get.result);
        get.onerror = () => reject(get.error);
      };
    };
  }));
  await attempt("caches", async () => {
    const cache = await caches.open(MARKER);
    await cache.put("https://example.org/k", new Response(MARKER));
    return (await cache.match("https://example.org/k")).text();
  });
  await attempt("originPrivateFiles", async () => {
    const folder = await navigator.storage.getDirectory();
    const file = await folder.getFileHandle("k.txt", { create: true });
    const writer = await file.createWritable();
    await writer.write(MARKER);
    await writer.close();
    return (await file.getFile()).text();
  });
  window.name = MARKER;
  window.__stored = results;
})();
"""

# Sketch 2 looks into every store; the result lands in window.__found.
READ_STORES = """window.__found = null;
(async () => {
  const found = {};
  found.localStorage = window.localStorage ? localStorage.length : "none";
  found.sessionStorage = sessionStorage.length;
  found.cookie = document.cookie;
  found.indexedDB = window.indexedDB ? (await indexedDB.databases()).map((db) => db.name) : "none";
  found.caches = window.caches ? await caches.keys() : "none";
  try {
    const names = [];
    for await (const name of (await navigator.storage.getDirectory()).keys()) { names.push(name); }
    found.originPrivateFiles = names;
  } catch (error) {
    found.originPrivateFiles = "refused";
  }
  found.windowName = window.name;
  window.__found = found;
})();
"""

NOTHING_LEFT = {
    "localStorage": "none",
    "sessionStorage": 0,
    "cookie": "",
    "indexedDB": "none",
    "caches": "none",
    "originPrivateFiles": "refused",
    "windowName": "",
}


def page_value(qtbot: Any, sandbox: CodeSandbox, name: str) -> Any:
    """``window[name]`` once the sketch has set it (it starts as null)."""
    script = f"JSON.stringify(window.{name} === undefined ? null : window.{name})"
    qtbot.waitUntil(lambda: evaluate(qtbot, sandbox, script) is not None, timeout=LOAD_MS)
    return evaluate(qtbot, sandbox, script)


def files_containing(marker: str, roots: list[Path], since: float) -> list[Path]:
    """Files below ``roots`` changed since ``since`` that hold ``marker`` (any encoding)."""
    needles = [marker.encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be")]
    hits = []
    for root in roots:
        for path in root.rglob("*") if root.is_dir() else ():
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if any(needle in data for needle in needles):
                hits.append(path)
    return hits


def web_engine_folders(sandbox: CodeSandbox) -> list[Path]:
    """Where QtWebEngine would keep a profile's data, and the app's own data folders."""
    locations = QStandardPaths.StandardLocation
    roots = [Path(sandbox.profile.persistentStoragePath())]
    for location in (locations.AppDataLocation, locations.CacheLocation):
        roots.append(Path(QStandardPaths.writableLocation(location)) / "QtWebEngine")
    app = AppPaths.default()
    return [*roots, app.data_dir, app.cache_dir]


def test_a_sketch_leaves_nothing_for_the_next_sketch_or_the_next_start(
    qtbot: Any, sandbox: CodeSandbox
) -> None:
    marker = f"ai4a-leak-{uuid.uuid4().hex}"
    started = time.time() - 1
    run_code(qtbot, sandbox, WRITE_STORES % marker)
    stored = page_value(qtbot, sandbox, "__stored")
    # Within its own run the page may use session storage; local storage, cookies,
    # IndexedDB, the Cache API and origin-private files are not available at all.
    assert stored == {
        "localStorage": "refused",
        "sessionStorage": marker,
        "cookie": "",
        "indexedDB": "refused",
        "caches": "refused",
        "originPrivateFiles": "refused",
    }
    assert sandbox.profile.isOffTheRecord()
    assert files_containing(marker, web_engine_folders(sandbox), started) == []

    run_code(qtbot, sandbox, READ_STORES)  # the next sketch, same app session
    assert page_value(qtbot, sandbox, "__found") == NOTHING_LEFT

    fresh = CodeSandbox(Translator("en"))  # as after an app restart
    try:
        fresh.show()
        run_code(qtbot, fresh, READ_STORES)
        assert page_value(qtbot, fresh, "__found") == NOTHING_LEFT
    finally:
        close_sandbox(fresh)
    assert files_containing(marker, web_engine_folders(sandbox), started) == []


class _Peak:
    """Samples the resident memory of the sandbox's renderer every 20 ms."""

    def __init__(self, sandbox: CodeSandbox) -> None:
        self.sandbox = sandbox
        self.peak = 0
        self.timer = QTimer()
        self.timer.timeout.connect(self.sample)
        self.timer.start(20)

    def sample(self) -> None:
        pid = self.sandbox.page.renderProcessPid()
        try:
            rss = psutil.Process(pid).memory_info().rss if pid > 0 else 0
        except psutil.Error:
            return
        self.peak = max(self.peak, rss)


def _terminations(sandbox: CodeSandbox) -> list[QWebEnginePage.RenderProcessTerminationStatus]:
    """Abnormal ends of the current page's renderer, as they happen."""
    normal = QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus
    ended: list[QWebEnginePage.RenderProcessTerminationStatus] = []

    def record(status: QWebEnginePage.RenderProcessTerminationStatus, _code: int) -> None:
        if status != normal:
            ended.append(status)

    sandbox.page.renderProcessTerminated.connect(record)
    return ended


def _next_run_works(qtbot: Any, sandbox: CodeSandbox) -> None:
    run_code(qtbot, sandbox, RED_SKETCH)
    qtbot.waitUntil(lambda: pixel(qtbot, sandbox) == [255, 0, 0, 255], timeout=LOAD_MS)
    assert sandbox.message_label.text() == "Running."


def test_the_js_heap_is_capped(qtbot: Any, sandbox: CodeSandbox) -> None:
    run_code(qtbot, sandbox, RED_SKETCH)
    limit = evaluate(qtbot, sandbox, "JSON.stringify(performance.memory.jsHeapSizeLimit)")
    # Old generation (the flag) plus the young generation; Chromium's default is GiBs.
    assert JS_HEAP_LIMIT_MB * 2**20 <= limit < MEMORY_LIMIT


def test_endless_objects_end_the_renderer_not_the_app(qtbot: Any, sandbox: CodeSandbox) -> None:
    code = "const keep = [];\nwhile (true) {\n  keep.push(new Array(100000).fill(1.5));\n}\n"
    sandbox.set_code(code)
    sandbox.play()
    ended = _terminations(sandbox)
    peak = _Peak(sandbox)
    try:
        qtbot.waitUntil(lambda: sandbox.message_label.text() == OUT_OF_MEMORY, timeout=LOAD_MS)
    finally:
        peak.timer.stop()
    # V8's heap limit ended the renderer (a deliberate crash), long before the guard's limit.
    assert ended == [QWebEnginePage.RenderProcessTerminationStatus.CrashedTerminationStatus]
    assert 0 < peak.peak < MEMORY_LIMIT
    assert not sandbox.stop_button.isEnabled()
    assert sandbox.play_button.isEnabled()
    _next_run_works(qtbot, sandbox)


def test_filled_typed_arrays_are_stopped_by_the_memory_guard(
    qtbot: Any, sandbox: CodeSandbox
) -> None:
    # Typed arrays live outside V8's heap: without the guard this sketch fills all memory.
    code = """const keep = [];
function setup() {
  createCanvas(40, 40);
}
function draw() {
  const block = new Uint8Array(32 * 1024 * 1024);
  block.fill(7);
  keep.push(block);
}
"""
    sandbox.memory_limit = 400 * 2**20  # cheap on a small CI machine
    try:
        sandbox.set_code(code)
        sandbox.play()
        ended = _terminations(sandbox)
        qtbot.waitUntil(lambda: sandbox.message_label.text() == OUT_OF_MEMORY, timeout=LOAD_MS)
        qtbot.waitUntil(lambda: bool(ended), timeout=LOAD_MS)
    finally:
        sandbox.memory_limit = MEMORY_LIMIT
    assert ended == [QWebEnginePage.RenderProcessTerminationStatus.KilledTerminationStatus]
    assert sandbox.errors == ()
    _next_run_works(qtbot, sandbox)


def test_a_huge_array_buffer_is_refused_with_an_explanation(
    qtbot: Any, sandbox: CodeSandbox
) -> None:
    code = "const keep = [];\nwhile (true) {\n  keep.push(new ArrayBuffer(2 ** 31));\n}\n"
    run_code(qtbot, sandbox, code)
    qtbot.waitUntil(lambda: bool(sandbox.errors), timeout=LOAD_MS)
    error = sandbox.errors[0]
    assert (error.line, error.message) == (3, "RangeError: Array buffer allocation failed")
    assert "more memory than the code view allows" in sandbox.error_list.item(0).text()
    _next_run_works(qtbot, sandbox)
