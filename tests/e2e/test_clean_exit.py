"""A process that showed the code sandbox quits cleanly (no segfault at the loop's end).

QtWebEngine plus qasync crashed on a second exec() of the Qt loop (asyncio.Runner.close
runs three); the app runs its loop through ``run_qt_loop``, which this test exercises in
a fresh process the way ``app.py`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, sys
from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme
register_sandbox_scheme()
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.qt_async import run_qt_loop

app = QApplication(sys.argv[:1])

async def main():
    from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox
    window = QWidget()
    sandbox = CodeSandbox(Translator("en"), window)
    QVBoxLayout(window).addWidget(sandbox)
    window.show()
    loaded = asyncio.Event()
    sandbox.set_code("function setup() { createCanvas(40, 40); }")
    sandbox.play()  # a fresh page per Play: listen to that one
    sandbox.page.loadFinished.connect(lambda _ok: loaded.set())
    await asyncio.wait_for(loaded.wait(), 30)
    await asyncio.to_thread(lambda: None)  # the thread pool is shut down too
    window.hide()
    window.deleteLater()
    print("main done", flush=True)

run_qt_loop(app, main())
print("loop closed", flush=True)
"""


def test_process_that_ran_the_sandbox_exits_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == ["main done", "loop closed"]
