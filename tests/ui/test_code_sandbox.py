"""The code sandbox: p5.js / Tone.js run confined in QtWebEngine, the window stays responsive.

One sandbox widget is shared by the module (each run gets a fresh page anyway); every web
test costs a page load of about 0.3 s.
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import psutil
import pytest
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QPushButton

from ai4artsed_desktop.events import RunResult, SavedFile
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.sandbox_scheme import POLICY_BLOCKED, web_dir
from ai4artsed_desktop.ui.widgets.code_sandbox import (
    CodeSandbox,
    ExportDialog,
    explain,
    parse_report,
)
from ai4artsed_desktop.ui.widgets.result_view import ResultView

LOAD_MS = 15_000

# Chromium's start-up on a machine without GPU or display (offscreen, CI): it probes OpenGL,
# Vulkan and GBM, then renders in software. Harmless; logged once per process.
WEB_ENGINE_START = (
    "^QRhiGles2: Failed to create",
    "^Failed to create RHI for backend",
    "does not support createPlatformVulkanInstance",
    "^QVulkanInstance: Failed to initialize Vulkan",
    "^GBM is not supported",
    "^GPUInfo not initialized",
)
pytestmark = pytest.mark.qt_log_ignore(*WEB_ENGINE_START)

RED_SKETCH = """function setup() {
  createCanvas(40, 40);
  background(255, 0, 0);
  noLoop();
}
"""

TONE_PIECE = """const synth = new Tone.Synth().toDestination();
function play() {
  window.played = (window.played || 0) + 1;
  synth.triggerAttackRelease("C4", "8n");
}
function stop() {
  window.stopped = true;
}
"""


def evaluate(qtbot: Any, sandbox: CodeSandbox, script: str) -> Any:
    """Run ``script`` (which must return a JSON string) in the page; the decoded value."""
    box: list[str] = []
    sandbox.page.runJavaScript(script, 0, box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=LOAD_MS)
    return json.loads(box[0])


def run_code(qtbot: Any, sandbox: CodeSandbox, code: str) -> None:
    sandbox.set_code(code)
    with qtbot.waitSignal(sandbox.page_loaded, timeout=LOAD_MS) as blocker:
        qtbot.mouseClick(sandbox.play_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [True]


def pixel(qtbot: Any, sandbox: CodeSandbox) -> list[int]:
    script = """JSON.stringify((() => {
      const canvas = document.querySelector("canvas");
      if (!canvas) { return null; }
      return Array.from(canvas.getContext("2d").getImageData(5, 5, 1, 1).data);
    })())"""
    value = evaluate(qtbot, sandbox, script)
    return list(value) if value else []


def test_p5_sketch_draws_and_stops(qtbot: Any, sandbox: CodeSandbox) -> None:
    run_code(qtbot, sandbox, RED_SKETCH)
    qtbot.waitUntil(lambda: pixel(qtbot, sandbox) == [255, 0, 0, 255], timeout=LOAD_MS)
    assert sandbox.errors == ()
    assert sandbox.stop_button.isEnabled()
    qtbot.mouseClick(sandbox.stop_button, Qt.MouseButton.LeftButton)
    assert not sandbox.stop_button.isEnabled()
    assert sandbox.message_label.text() == "Stopped."


BIG_SKETCH = """
function setup() { createCanvas(1600, 1200); }
function draw() { background(0, 0, 255); }
"""


def test_a_big_canvas_is_scaled_to_fit_not_cropped(qtbot: Any, sandbox: CodeSandbox) -> None:
    run_code(qtbot, sandbox, BIG_SKETCH)
    script = """JSON.stringify((() => {
      const canvas = document.querySelector("canvas");
      if (!canvas) { return null; }
      const box = canvas.getBoundingClientRect();
      return [box.left, box.top, box.right, box.bottom, innerWidth, innerHeight];
    })())"""
    qtbot.waitUntil(lambda: evaluate(qtbot, sandbox, script) is not None, timeout=LOAD_MS)
    left, top, right, bottom, width, height = evaluate(qtbot, sandbox, script)
    assert width < 1600  # the view is smaller than the sketch ...
    assert left >= 0  # ... and all of the sketch is inside it
    assert top >= 0
    assert right <= width + 0.5
    assert bottom <= height + 0.5
    assert (right - left) / (bottom - top) == pytest.approx(1600 / 1200, rel=0.02)


def test_tone_piece_plays_on_play_and_renders_sound(qtbot: Any, sandbox: CodeSandbox) -> None:
    run_code(qtbot, sandbox, TONE_PIECE)
    # The page exists only after the click on Play; the piece's play() runs once, at once.
    qtbot.waitUntil(lambda: evaluate(qtbot, sandbox, "JSON.stringify(window.played)") == 1)
    assert evaluate(qtbot, sandbox, "JSON.stringify(Tone.getContext().state)") == "running"
    assert (
        evaluate(qtbot, sandbox, "JSON.stringify(!!document.getElementById('ai4a-start'))") is False
    )
    # Real-time output cannot be heard in a test; an offline render proves Tone.js makes sound.
    sandbox.page.runJavaScript(
        """window.__peak = null;
        Tone.Offline(() => {
          new Tone.Synth().toDestination().triggerAttackRelease("C4", 0.1, 0);
        }, 0.2).then((buffer) => {
          let peak = 0;
          for (const v of buffer.getChannelData(0)) { peak = Math.max(peak, Math.abs(v)); }
          window.__peak = peak;
        });""",
        0,
    )
    qtbot.waitUntil(
        lambda: evaluate(qtbot, sandbox, "JSON.stringify(window.__peak)") is not None,
        timeout=LOAD_MS,
    )
    assert evaluate(qtbot, sandbox, "JSON.stringify(window.__peak)") > 0.05
    # Stop throws the page away: its renderer (and the sound) end with it.
    renderer = sandbox.page.renderProcessPid()
    assert renderer > 0
    qtbot.mouseClick(sandbox.stop_button, Qt.MouseButton.LeftButton)
    assert sandbox.message_label.text() == "Stopped."
    assert sandbox.page.url().isEmpty()
    qtbot.waitUntil(lambda: not _alive(renderer), timeout=LOAD_MS)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"leak")

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    hits: ClassVar[list[str]] = []
    handler = type("Handler", (_Hits,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.usefixtures("expect_log_warnings")
def test_requests_navigation_and_windows_are_blocked(
    qtbot: Any,
    sandbox: CodeSandbox,
    local_server: tuple[int, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, hits = local_server
    base = f"http://127.0.0.1:{port}"
    code = f"""fetch("{base}/fetch").catch(() => {{}});
const picture = new Image(); picture.src = "{base}/image.png"; document.body.append(picture);
const secret = new Image(); secret.src = "file:///etc/passwd"; document.body.append(secret);
try {{ new WebSocket("ws://127.0.0.1:{port}/socket"); }} catch (error) {{}}
window.open("https://example.org/popup");
setTimeout(() => {{ window.location.href = "https://example.org/away"; }}, 50);
"""
    blocked = sandbox.blocked.items
    before = len(blocked)
    with caplog.at_level(logging.WARNING, logger="ai4artsed_desktop.ui.sandbox_scheme"):
        run_code(qtbot, sandbox, code)

        def urls() -> set[str]:
            return {item.url for item in blocked[before:]}

        # fetch, image and WebSocket are refused by the page's security policy before any
        # request exists (the browser reports that to the scheme handler, without the
        # address); file: is refused by Chromium itself before that (only said in the
        # console, which is never trusted); the navigation and the window by the page.
        expected = {"https://example.org/away", POLICY_BLOCKED}
        qtbot.waitUntil(lambda: expected <= urls(), timeout=LOAD_MS)
        qtbot.waitUntil(
            lambda: sum(item.kind == "policy" for item in blocked[before:]) >= 3, timeout=LOAD_MS
        )
    kinds = {item.kind for item in blocked[before:]}
    assert kinds == {"policy", "navigation", "window"}
    assert hits == []
    assert sandbox.page.url().path() == "/sandbox.html"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "blocked a navigation: https://example.org/away" in logged
    assert "blocked a window" in logged
    assert "blocked a policy: a request the page's security policy refused" in logged


def test_syntax_and_runtime_errors_show_line_and_explanation(
    qtbot: Any, sandbox: CodeSandbox
) -> None:
    run_code(qtbot, sandbox, "function setup() {\n  createCanvas(40, 40);\n  let x = ;\n}\n")
    qtbot.waitUntil(lambda: bool(sandbox.errors), timeout=LOAD_MS)
    error = sandbox.errors[0]
    assert error.line == 3
    assert error.message.startswith("SyntaxError")
    assert sandbox.error_list.isVisible()
    assert sandbox.error_list.item(0).text().startswith("Line 3: SyntaxError")
    assert "bracket" in sandbox.error_list.item(0).text()

    code = (
        "function setup() {\n  createCanvas(40, 40);\n}\nfunction draw() {\n  circel(1, 2, 3);\n}\n"
    )
    run_code(qtbot, sandbox, code)
    qtbot.waitUntil(lambda: bool(sandbox.errors), timeout=LOAD_MS)
    error = sandbox.errors[0]
    assert (error.line, error.message) == (5, "ReferenceError: circel is not defined")
    assert len(sandbox.errors) == 1  # draw() repeats it every frame; shown once
    assert "The name “circel” is unknown" in sandbox.error_list.item(0).text()


def test_endless_loop_does_not_freeze_the_window(qtbot: Any, sandbox: CodeSandbox) -> None:
    sandbox._watchdog.setInterval(100)  # notice the hang quickly
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    button = QPushButton("still here")
    qtbot.addWidget(button)
    clicks: list[bool] = []
    button.clicked.connect(lambda: clicks.append(True))
    try:
        sandbox.set_code("function setup() {\n  createCanvas(40, 40);\n}\nwhile (true) {}\n")
        qtbot.mouseClick(sandbox.play_button, Qt.MouseButton.LeftButton)
        # Stuck for 20 pings in a row (2 s): on a busy machine, parsing the libraries alone
        # can keep the page from answering three pings, and it answers again afterwards.
        qtbot.waitUntil(lambda: sandbox.stuck and sandbox._pending_pings > 20, timeout=LOAD_MS)
        # The page hangs (it answers no pings), yet the main thread keeps running.
        at_hang = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= at_hang + 10, timeout=LOAD_MS)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert clicks == [True]
        assert sandbox.stuck
        assert "endless loop" in sandbox.message_label.text()
    finally:
        timer.stop()
        sandbox._watchdog.setInterval(1000)
    qtbot.mouseClick(sandbox.stop_button, Qt.MouseButton.LeftButton)
    assert not sandbox.stuck
    # Stop threw the hung page away: the next run works.
    run_code(qtbot, sandbox, RED_SKETCH)
    qtbot.waitUntil(lambda: pixel(qtbot, sandbox) == [255, 0, 0, 255], timeout=LOAD_MS)


def test_export_is_a_standalone_page(
    qtbot: Any, qloop: Any, sandbox: CodeSandbox, tmp_path: Path, monkeypatch: Any
) -> None:
    target = tmp_path / "my sketch"
    monkeypatch.setattr(ExportDialog, "ask", classmethod(lambda cls, *_args: target))
    code = RED_SKETCH + "// </script> in a comment stays inside the script\n"
    sandbox.set_code(code)
    qtbot.mouseClick(sandbox.export_button, Qt.MouseButton.LeftButton)
    written = target.with_suffix(".html")
    qtbot.waitUntil(lambda: "Saved as" in sandbox.message_label.text(), timeout=LOAD_MS)
    text = written.read_text("utf-8")
    assert "background(255, 0, 0);" in text
    assert "<\\/script> in a comment" in text
    for name in ("p5.min.js", "Tone.js", "runner.js"):
        library = (web_dir() / name).read_text("utf-8")
        assert library[:2000] in text
        assert library[-2000:] in text
        text = text.replace(library, "")
    assert "<script src" not in text
    assert "<link" not in text
    assert not re.search(r"https?://", text)  # outside the inlined libraries: none at all


class _StandInParams(QObject):
    mode_changed = Signal(str)
    kids = False


class _StandInRun(QObject):
    preview = Signal(bytes)
    result = Signal(object)
    file_saved = Signal(str)
    save_failed = Signal(str, str)
    stage_blocked = Signal(object)
    blocked = Signal(str)
    stage_completed = Signal(object, str, str)

    def __init__(self) -> None:
        super().__init__()
        self.params = _StandInParams()


def test_result_view_shows_code_in_the_sandbox(qtbot: Any, tmp_path: Path) -> None:
    vm = _StandInRun()
    view = ResultView(vm, Translator("en"))  # type: ignore[arg-type]
    qtbot.addWidget(view)
    view.show()
    assert view.sandbox is None  # no web engine until a code result appears
    sketch = tmp_path / "sketch.js"
    sketch.write_text(RED_SKETCH, "utf-8")
    vm.result.emit(RunResult("r1", tmp_path, (SavedFile(sketch, "text/javascript"),)))
    assert view.sandbox is not None
    assert view.sandbox.isVisible()
    assert view.sandbox.code == RED_SKETCH
    assert view.folder_button.isVisible()
    assert not view.save_button.isVisible()
    assert not view.image_label.isVisible()
    vm.result.emit(RunResult("r2", tmp_path, (), code="// final code\n"))
    assert view.sandbox.code == "// final code\n"
    view.clear()
    assert not view.sandbox.isVisible()
    assert view.sandbox.code == ""


def test_explanations_and_reports() -> None:
    assert explain("ReferenceError: foo is not defined") == (
        "sandbox.explain_not_defined",
        {"name": "foo"},
    )
    assert explain("TypeError: bar is not a function")[0] == "sandbox.explain_not_function"
    assert explain("SyntaxError: Unexpected end of input")[0] == "sandbox.explain_end"
    assert explain("Error: something odd")[0] == "sandbox.explain_generic"
    text = '{"kind": "error", "message": "x", "line": 4, "column": 2}'
    report = parse_report("__ai4a__s3cret" + text, "s3cret")
    assert report is not None
    assert (report.line, report.column) == (4, 2)
    assert parse_report("__ai4a__" + text, "s3cret") is None  # no secret: no report
    assert parse_report("__ai4a__other" + text, "s3cret") is None
    assert parse_report("__ai4a__" + text, "") is None
    assert parse_report("plain console text", "s3cret") is None
    assert parse_report("__ai4a__s3cret[1]", "s3cret") is None
