"""No dialogs and no clipboard from a sketch, even after a real click into the page.

Before issue 19, one click in the canvas let a sketch open native file dialogs
(``<input type=file>``, ``showSaveFilePicker`` suggesting ``evil.sh``, ``showDirectoryPicker``)
and write the system clipboard with ``document.execCommand('copy')``.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from ai4artsed_desktop.ui import sandbox_scheme
from ai4artsed_desktop.ui.widgets import code_sandbox
from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox
from tests.ui.test_code_sandbox import LOAD_MS, WEB_ENGINE_START, evaluate, run_code

pytestmark = [
    pytest.mark.qt_log_ignore(*WEB_ENGINE_START),
    pytest.mark.usefixtures("expect_log_warnings"),  # refusals are logged as warnings
]

# The attempts happen on the first click; window.__done lists how each one ended.
ON_CLICK = """window.__done = null;
window.__ready = false;
function setup() { createCanvas(300, 300); background(0, 0, 255); window.__ready = true; }
async function attempt(name, action) {
  try {
    return name + ": " + String(await action());
  } catch (error) {
    return name + ": " + error.name;
  }
}
document.addEventListener("click", async () => {
  const results = [];
%s
  window.__done = results;
}, { once: true });
"""
CLIPBOARD = """  results.push(await attempt("copy", () => {
    const text = document.createElement("p");
    text.textContent = "sketch was here";
    document.body.append(text);
    const range = document.createRange();
    range.selectNodeContents(text);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    return document.execCommand("copy");
  }));
  results.push(await attempt("cut", () => document.execCommand("cut")));
  results.push(await attempt("writeText", () => navigator.clipboard.writeText("sketch was here")));
"""
PICKERS = """  results.push(await attempt("input", () => {
    const input = document.createElement("input");
    input.type = "file";
    document.body.append(input);
    input.click();
    return "clicked";
  }));
  results.push(await attempt("save", () => showSaveFilePicker({ suggestedName: "evil.sh" })));
  results.push(await attempt("directory", () => showDirectoryPicker()));
  results.push(await attempt("open", () => showOpenFilePicker()));
"""


class _DialogWatch:
    """Closes and counts any file dialog or other modal window that opens."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(20)

    def check(self) -> None:
        for widget in QApplication.topLevelWidgets():
            if widget.isVisible() and (isinstance(widget, QFileDialog) or widget.isModal()):
                self.seen.append(type(widget).__name__)
                widget.close()


def _click_into(qtbot: Any, sandbox: CodeSandbox) -> None:
    target = sandbox.view.focusProxy()
    assert isinstance(target, QWidget)
    centre = QPoint(target.width() // 2, target.height() // 2)
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=centre)


def _play_and_click(qtbot: Any, sandbox: CodeSandbox, attempts: str) -> list[str]:
    """Play the attempts, click into the page until it took the click; how each ended."""
    run_code(qtbot, sandbox, ON_CLICK % attempts)
    qtbot.waitUntil(
        lambda: evaluate(qtbot, sandbox, "JSON.stringify(window.__ready)") is True,
        timeout=LOAD_MS,
    )

    def clicked_and_done() -> bool:
        if evaluate(qtbot, sandbox, "JSON.stringify(window.__done)") is not None:
            return True
        _click_into(qtbot, sandbox)
        return False

    qtbot.waitUntil(clicked_and_done, timeout=LOAD_MS)
    return list(evaluate(qtbot, sandbox, "JSON.stringify(window.__done)"))


def test_a_click_leaves_the_clipboard_alone(qtbot: Any, sandbox: CodeSandbox) -> None:
    clipboard = QApplication.clipboard()
    clipboard.setText("the teacher's text")
    done = _play_and_click(qtbot, sandbox, CLIPBOARD)
    assert clipboard.text() == "the teacher's text"
    assert done == ["copy: false", "cut: false", "writeText: TypeError"]


@pytest.mark.parametrize("page_script", [True, False], ids=["all layers", "without harden.js"])
def test_a_click_opens_no_file_dialog(
    qtbot: Any, sandbox: CodeSandbox, monkeypatch: pytest.MonkeyPatch, page_script: bool
) -> None:
    if not page_script:  # the page's own hooks alone must refuse the pickers too
        make = sandbox_scheme.make_sandbox_profile

        def without_script(*args: Any, **kwargs: Any) -> sandbox_scheme.SandboxProfile:
            made = make(*args, **kwargs)
            made.profile.scripts().clear()
            return made

        monkeypatch.setattr(code_sandbox, "make_sandbox_profile", without_script)
    watch = _DialogWatch()
    before = len(sandbox.blocked.items)
    try:
        done = _play_and_click(qtbot, sandbox, PICKERS)
        # A file input's chooser is refused by the page and logged.
        qtbot.waitUntil(
            lambda: any(item.kind == "file" for item in sandbox.blocked.items[before:]),
            timeout=LOAD_MS,
        )
    finally:
        watch.timer.stop()
    assert watch.seen == []
    if page_script:  # the File System Access pickers do not exist in the page at all
        assert [line.split(": ")[1] for line in done[1:]] == ["ReferenceError"] * 3
    else:  # they exist, and every request is refused (the browser says SecurityError)
        assert all(line.split(": ")[1].endswith("Error") for line in done[1:]), done
