"""The code sandbox plays in an app whose shell installed the wheel guard.

``ui/wheel_guard.py`` installs a Python event filter on the whole application. When the
sandbox's scheme handler answers, QtWebEngine creates a ``QWebEngineUrlRequestJob`` whose
parent is an internal object; the ChildAdded event passes the application filter, PySide
wraps that unknown parent (``getWrapperForQObject`` sets a property, which sends another
event through the same filter) and the process dies with a segmentation fault. The shell
installs the guard, so in the app Play on any code result ends the app. Found while
testing issue 19; the fix belongs to the wheel guard (e.g. filters on the guarded controls
instead of on the application). Runs in a fresh process, since the crash takes the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
from ai4artsed_desktop.ui.sandbox_scheme import register_sandbox_scheme
register_sandbox_scheme()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from ai4artsed_desktop.ui.i18n import Translator
from ai4artsed_desktop.ui.wheel_guard import install_wheel_guard
from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox

install_wheel_guard(app)  # as build_shell does
sandbox = CodeSandbox(Translator("en"))
sandbox.show()
sandbox.set_code("function setup() { createCanvas(40, 40); }")
sandbox.play()
sandbox.page.loadFinished.connect(lambda ok: (print("loaded", ok, flush=True), app.quit()))
QTimer.singleShot(30000, app.quit)
app.exec()
sandbox.close()
"""


@pytest.mark.xfail(
    strict=True,
    reason="the wheel guard's application-wide Python event filter crashes PySide6 when "
    "QtWebEngine creates a URL request job (see the module docstring)",
)
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
    assert "loaded True" in result.stdout
