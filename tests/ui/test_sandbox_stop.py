"""Stop means stopped: timers, workers, sound and a late allocation all end with the page.

Before issue 19, Stop only asked the page to pause: its timers, a raw AudioContext and busy
workers went on, and the watchdog and memory guard were switched off, so a sketch that
began to allocate after Stop took gigabytes. Now Stop drops the page and its profile and
ends its renderer; the memory guard keeps watching until that process is gone.
"""

from __future__ import annotations

from typing import Any

import psutil
import pytest
from PySide6.QtCore import Qt

from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox
from tests.ui.test_code_sandbox import LOAD_MS, RED_SKETCH, WEB_ENGINE_START, evaluate, pixel
from tests.ui.test_code_sandbox import run_code as play

pytestmark = pytest.mark.qt_log_ignore(*WEB_ENGINE_START)

# Everything that could outlive a polite stop: a timer, a busy worker, an oscillator on a raw
# AudioContext, and memory taken only after a while (after Stop, in the old sandbox).
RELENTLESS = """window.ticks = 0;
setInterval(() => { window.ticks += 1; }, 10);
const busy = "let n = 0; postMessage('busy'); while (true) { n += 1; }";
const worker = new Worker(URL.createObjectURL(new Blob([busy], { type: "text/javascript" })));
worker.onmessage = () => { window.workerBusy = true; };
const audio = new AudioContext();
const tone = audio.createOscillator();
tone.connect(audio.destination);
tone.start();
window.keep = [];
setTimeout(() => {
  setInterval(() => {
    const block = new Uint8Array(64 * 1024 * 1024);
    block.fill(3);
    window.keep.push(block);
  }, 50);
}, 1500);
function stop() { window.politelyStopped = true; }
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_stop_ends_timers_workers_sound_and_late_allocation(
    qtbot: Any, sandbox: CodeSandbox
) -> None:
    play(qtbot, sandbox, RELENTLESS)
    qtbot.waitUntil(
        lambda: evaluate(qtbot, sandbox, "JSON.stringify(!!window.workerBusy)") is True,
        timeout=LOAD_MS,
    )
    qtbot.waitUntil(
        lambda: evaluate(qtbot, sandbox, "JSON.stringify(window.ticks)") > 5, timeout=LOAD_MS
    )
    renderer = sandbox.page.renderProcessPid()
    assert renderer > 0
    qtbot.mouseClick(sandbox.stop_button, Qt.MouseButton.LeftButton)
    assert sandbox.message_label.text() == "Stopped."
    assert not sandbox.stop_button.isEnabled()
    # The page is gone, and the process that ran the timers, the worker, the sound and the
    # allocation ends (nothing of the sketch can run on).
    assert sandbox.page.url().isEmpty()
    qtbot.waitUntil(lambda: not _alive(renderer), timeout=LOAD_MS)
    # The next Play works.
    play(qtbot, sandbox, RED_SKETCH)
    qtbot.waitUntil(lambda: pixel(qtbot, sandbox) == [255, 0, 0, 255], timeout=LOAD_MS)
