"""The sandbox's logs and error list cannot be forged or flooded, and floods cannot grow the app.

Before issue 19, console text could add blocked-request entries and a WARNING each
(``Not allowed to load local resource: …``), any ``console.error('__ai4a__{…}')`` landed in
the student's error list, and a console flood grew the app's own process by ~50 MiB/s.
"""

from __future__ import annotations

import logging
from typing import Any

import psutil
import pytest
from PySide6.QtCore import QTimer

from ai4artsed_desktop.ui.widgets.code_sandbox import APP_GROWTH_LIMIT, CodeSandbox
from tests.ui.test_code_sandbox import LOAD_MS, WEB_ENGINE_START, evaluate, run_code

pytestmark = [
    pytest.mark.qt_log_ignore(*WEB_ENGINE_START),
    pytest.mark.usefixtures("expect_log_warnings"),  # blocked requests are logged as warnings
]
MIB = 2**20

SPOOFS = """console.log("Not allowed to load local resource: file:///spoofed-entry");
console.warn("Code sandbox blocked a request: http://spoofed-entry/");
console.error('__ai4a__{"kind": "error", "message": "Your computer has a virus", "line": 1}');
console.error("Your computer has a virus, call 0800");
try { console.error = () => {}; } catch (error) {}
const again = document.createElement("script");
again.src = "runner.js";  // a second runner: it gets no secret
again.onload = again.onerror = () => {
  const names = performance.getEntries().map((entry) => entry.name).join(" ");
  window.__seen = names;
  setTimeout(() => { throw new Error("the real one"); }, 0);
};
document.head.append(again);
"""


def test_console_text_makes_no_entries_and_no_errors(
    qtbot: Any, sandbox: CodeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    before = len(sandbox.blocked.items)
    with caplog.at_level(logging.DEBUG):
        run_code(qtbot, sandbox, SPOOFS)
        qtbot.waitUntil(lambda: bool(sandbox.errors), timeout=LOAD_MS)
    # Only the error the sketch really threw, reported by the runner with the run's secret.
    assert [(e.message, e.line) for e in sandbox.errors] == [("Error: the real one", 11)]
    assert [item for item in sandbox.blocked.items[before:] if "spoofed" in item.url] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [line for line in warnings if "spoofed" in line or "virus" in line]
    # The secret is nowhere the sketch can look.
    seen = evaluate(qtbot, sandbox, "JSON.stringify(window.__seen)")
    assert sandbox._secret not in seen


def test_blocked_request_log_lines_are_rate_limited(
    qtbot: Any, sandbox: CodeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    code = """for (let i = 0; i < 400; i++) {
  const picture = new Image();
  picture.src = "http://127.0.0.1:" + (20000 + i) + "/picture.png";  // one origin each
}
"""
    sandbox.blocked.items.clear()
    with caplog.at_level(logging.WARNING, logger="ai4artsed_desktop.ui.sandbox_scheme"):
        run_code(qtbot, sandbox, code)
        qtbot.waitUntil(lambda: len(sandbox.blocked.items) >= 60, timeout=LOAD_MS)
    lines = [r for r in caplog.records if "blocked a" in r.getMessage()]
    assert len(lines) <= sandbox.blocked.budget.per_window
    assert len(sandbox.blocked.items) <= sandbox.blocked.limit


class _Growth:
    """The app process's resident memory: the most it grew since this object was made."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.start = self.me.memory_info().rss
        self.most = 0
        self.timer = QTimer()
        self.timer.timeout.connect(self.sample)
        self.timer.start(50)

    def sample(self) -> None:
        self.most = max(self.most, self.me.memory_info().rss - self.start)


FLOOD = """window.__sent = 0;
const line = "x".repeat(1024);
setInterval(() => {
  for (let i = 0; i < 2000; i++) { console.log(i, line); }
  window.__sent += 2000;
}, 0);
"""


def test_a_console_flood_leaves_the_app_small_and_says_so(qtbot: Any, sandbox: CodeSandbox) -> None:
    sandbox.app_growth_limit = 300 * MIB
    growth = _Growth()
    try:
        run_code(qtbot, sandbox, FLOOD)

        def flooded_or_stopped() -> bool:
            if not sandbox.stop_button.isEnabled():
                return True
            return bool(evaluate(qtbot, sandbox, "JSON.stringify(window.__sent)") >= 200_000)

        qtbot.waitUntil(flooded_or_stopped, timeout=60_000)
    finally:
        growth.timer.stop()
        sandbox.app_growth_limit = APP_GROWTH_LIMIT
    # 200,000 lines of 1 KiB went to the console; the app grew by far less than that.
    assert growth.most < 300 * MIB
    assert sandbox.stop_button.isEnabled()  # the page's own limit held: no need to stop it
    assert sandbox.message_label.text() == (
        "Running. The code writes a great many messages; most of them are left out."
    )


def test_app_growth_during_a_sketch_stops_the_sketch(qtbot: Any, sandbox: CodeSandbox) -> None:
    # Whatever grows the app while a sketch runs (here: a budget the test makes tiny),
    # the guard stops the sketch before the app grows further.
    sandbox.app_growth_limit = 16 * MIB
    try:
        run_code(qtbot, sandbox, "window.keep = [];\n")
        ballast = b"\x01" * (64 * MIB)  # the app grows by 64 MiB during the sketch
        qtbot.waitUntil(lambda: not sandbox.stop_button.isEnabled(), timeout=LOAD_MS)
        del ballast
    finally:
        sandbox.app_growth_limit = APP_GROWTH_LIMIT
    assert sandbox.message_label.text() == (
        "The code used too much memory and was stopped. Press Play to try again."
    )
    assert sandbox.page.url().isEmpty()


BLOBS = """window.__blobs = 0;
const keep = [];
setInterval(() => {
  const block = new Uint8Array(8 * 1024 * 1024).fill(window.__blobs % 251);
  const blob = new Blob([block]);
  keep.push(blob, URL.createObjectURL(blob));
  window.__blobs += 1;
}, 20);
"""


def test_blob_storage_in_the_app_process_is_capped(qtbot: Any, sandbox: CodeSandbox) -> None:
    # Blob bytes live on the browser side, in the app's own process.
    sandbox.app_growth_limit = 128 * MIB
    growth = _Growth()
    try:
        run_code(qtbot, sandbox, BLOBS)
        qtbot.waitUntil(lambda: not sandbox.stop_button.isEnabled(), timeout=LOAD_MS)
    finally:
        growth.timer.stop()
        sandbox.app_growth_limit = APP_GROWTH_LIMIT
    assert sandbox.message_label.text() == (
        "The code used too much memory and was stopped. Press Play to try again."
    )
    assert growth.most < 128 * MIB + 160 * MIB  # the limit, plus what a guard round lets in
