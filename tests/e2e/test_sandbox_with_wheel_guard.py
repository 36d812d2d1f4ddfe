"""The code sandbox plays in a window whose controls carry the wheel guard.

An earlier wheel guard was a Python event filter on the whole application: when the
sandbox's scheme handler answered, QtWebEngine created a ``QWebEngineUrlRequestJob`` whose
ChildAdded event passed that filter, PySide wrapped the unknown parent and the process died
with a segmentation fault (Play on any code result ended the app). The guard now filters
only the guarded controls (``guard_wheel``, as the main window applies it). This runs the
sandbox in a fresh process next to guarded controls, since a crash takes the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme
register_sandbox_scheme()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from ai4artsed_desktop.ui.i18n import Translator
from PySide6.QtWidgets import QComboBox, QVBoxLayout, QWidget
from ai4artsed_desktop.ui.wheel_guard import guard_wheel
from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox

window = QWidget()
layout = QVBoxLayout(window)
layout.addWidget(QComboBox())
sandbox = CodeSandbox(Translator("en"))
layout.addWidget(sandbox)
print("guarded", guard_wheel(window), flush=True)  # as the main window does
window.show()
sandbox.set_code("function setup() { createCanvas(40, 40); }")
sandbox.play()
sandbox.page.loadFinished.connect(lambda ok: (print("loaded", ok, flush=True), app.quit()))
QTimer.singleShot(30000, app.quit)
app.exec()
window.close()
"""


def test_the_sandbox_plays_with_the_wheel_guard_installed(tmp_path: Path) -> None:
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
    assert "guarded 1" in result.stdout  # the guard really is installed
    assert "loaded True" in result.stdout
