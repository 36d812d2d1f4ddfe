"""CodeSandbox: runs a p5.js sketch or a Tone.js piece in a confined web view.

The page comes from the ``ai4a-sandbox:`` scheme (see :mod:`..sandbox_scheme` and
``docs/sandbox.md``); every other request, navigation, new window, download, file picker
and permission is refused and logged. There is no bridge to Python: the page reports errors
through console messages that carry a per-run secret only the runner knows; other console
text is never shown, rate-limited and size-capped. Each Play makes a fresh page in a fresh
off-the-record profile, so nothing one sketch stores reaches the next, and Stop throws the
page away and ends its renderer, so timers, workers and sound end with it. The renderer is
another process, so an endless loop in the student's code cannot freeze the window; a
watchdog notices a page that stops answering. Memory is capped three times: V8's heap limit
(see :func:`..sandbox_scheme.limit_js_heap`) ends a renderer that piles up objects, a memory
guard ends one whose resident memory (typed arrays, canvases) grows past
:data:`MEMORY_LIMIT`, and the same guard stops the sketch when the app's own process grows
by :data:`APP_GROWTH_LIMIT` while it runs (console floods, blobs and caches land there).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import secrets
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineFileSystemAccessRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..i18n import Translator
from ..qt_async import async_slot
from ..sandbox_scheme import (
    PAGE_PATH,
    SandboxLog,
    is_sandbox_page,
    make_sandbox_profile,
    sandbox_url,
    web_dir,
)

log = logging.getLogger(__name__)

TAG = "__ai4a__"
PING_MS = 1000
STUCK_AFTER_PINGS = 3
MAX_ERRORS = 50
MEMORY_CHECK_MS = 200
MEMORY_LIMIT = 1024 * 2**20  # resident memory of the renderer that runs a sketch
# Growth of the app's own resident memory while a sketch runs (QtWebEngine's browser side,
# blob and cache storage, console messages all live in the app process).
APP_GROWTH_LIMIT = 512 * 2**20
# Console messages that reach Python: at most this many per second (a burst of twice as many)
# and this long; the page's own limit (harden.js) is lower still.
CONSOLE_PER_SECOND = 50
CONSOLE_MAX_CHARS = 500
FLOOD_NOTE = re.compile(r"^\[sandbox\] \d+ console messages dropped")
# How a renderer ends when V8 runs out of heap: Chromium's deliberate crash (a trap on
# Linux and macOS; an out-of-memory exception code on Windows). Other internal crashes
# end the same way, but from a student's code memory is by far the likeliest cause.
_OOM_EXIT_CODES = frozenset(
    {0xE0000008, 0xE0000008 - 2**32} if sys.platform == "win32" else {int(signal.SIGTRAP)}
)


@dataclass(frozen=True)
class ScriptError:
    """One JavaScript error, placed in the student's code (line 0: not in their code)."""

    message: str
    line: int = 0
    column: int = 0


# (pattern on the browser's message, translation key); the first group becomes {name}.
_EXPLANATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ReferenceError: (\S+) is not defined"), "sandbox.explain_not_defined"),
    (re.compile(r"TypeError: (\S+) is not a function"), "sandbox.explain_not_function"),
    (re.compile(r"Cannot read propert\w* of (undefined|null)"), "sandbox.explain_no_value"),
    (re.compile(r"Cannot set propert\w* of (undefined|null)"), "sandbox.explain_no_value"),
    (re.compile(r"Assignment to constant variable"), "sandbox.explain_const"),
    (re.compile(r"Identifier '([^']+)' has already been declared"), "sandbox.explain_declared"),
    (re.compile(r"Maximum call stack size exceeded"), "sandbox.explain_recursion"),
    (re.compile(r"Array buffer allocation failed"), "sandbox.explain_memory"),
    (re.compile(r"SyntaxError: (?:missing \) )"), "sandbox.explain_bracket"),
    (re.compile(r"SyntaxError: Unexpected end of input"), "sandbox.explain_end"),
    (
        re.compile(
            r"SyntaxError: (?:Invalid or )?[Uu]nexpected (?:token|string|identifier|number)"
        ),
        "sandbox.explain_syntax",
    ),
    (re.compile(r"SyntaxError"), "sandbox.explain_syntax"),
)


def explain(message: str) -> tuple[str, dict[str, str]]:
    """The translation key (and its placeholders) that explains ``message`` in plain words."""
    for pattern, key in _EXPLANATIONS:
        match = pattern.search(message)
        if match:
            name = match.group(1) if match.groups() else ""
            return key, {"name": name or ""}
    return "sandbox.explain_generic", {"name": ""}


def parse_report(message: str, secret: str) -> ScriptError | None:
    """A runner report (``__ai4a__<secret>{json}``) as a :class:`ScriptError`; else None.

    Without the run's secret (which only the runner knows) a message is no report.
    """
    prefix = TAG + secret
    if not secret or not message.startswith(prefix):
        return None
    try:
        data = json.loads(message[len(prefix) :])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return ScriptError(
        str(data.get("message", ""))[:500], _int(data.get("line")), _int(data.get("column"))
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _inline_script(text: str) -> str:
    """Script text made safe to sit inside ``<script>…</script>``."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def build_export_html(code: str, *, title: str, start_label: str) -> str:
    """A standalone page with p5.js, Tone.js, our runner and ``code`` inlined (works offline)."""
    folder = web_dir()
    libraries = [
        (folder / name).read_text("utf-8") for name in ("runner.js", "p5.min.js", "Tone.js")
    ]
    scripts = "\n".join(f"<script>\n{_inline_script(lib)}\n</script>" for lib in libraries)
    label = _inline_script(json.dumps(start_label))
    return f"""<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #ffffff; overflow: hidden; }}
  body {{ display: flex; align-items: center; justify-content: center; }}
  main {{ display: flex; align-items: center; justify-content: center;
    width: 100vw; height: 100vh; }}
  canvas {{ max-width: 100vw; max-height: 100vh; width: auto !important;
    height: auto !important; }}
  #ai4a-start {{ position: fixed; inset: 0; width: 100%; height: 100%; border: none;
    cursor: pointer; background: rgba(20, 24, 32, 0.72); color: #fff; font: 600 22px sans-serif; }}
</style>
<script>window.AI4A_START_LABEL = {label};</script>
{scripts}
</head>
<body>
<script>
{_inline_script(code)}
</script>
</body>
</html>
"""


class ExportDialog:
    """Asks where to write the HTML file; tests replace :meth:`ask`."""

    @classmethod
    def ask(cls, parent: QWidget, title: str, suggested: Path) -> Path | None:
        """The chosen path, or None when the user cancelled."""
        chosen, _filter = QFileDialog.getSaveFileName(
            parent, title, str(suggested), "HTML (*.html)"
        )
        return Path(chosen) if chosen else None


class MessageBudget:
    """A token bucket: ``rate`` messages per second, bursts up to twice that."""

    def __init__(self, rate: int = CONSOLE_PER_SECOND) -> None:
        self.rate = rate
        self._tokens = float(rate * 2)
        self._last = time.monotonic()
        self.dropped = 0

    def take(self) -> bool:
        """True when one more message may pass now."""
        now = time.monotonic()
        self._tokens = min(self.rate * 2.0, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.dropped += 1
        return False


class SandboxPage(QWebEnginePage):
    """One run's page: stays on the sandbox page, opens nothing, reports errors.

    Signals:
        script_error(object): a :class:`ScriptError` from the student's code.
        flooded(): the page writes more console messages than are let through.
    """

    script_error = Signal(object)
    flooded = Signal()

    def __init__(
        self, profile: QWebEngineProfile, record: SandboxLog, parent: QObject, secret: str = ""
    ) -> None:
        super().__init__(profile, parent)
        self._record = record
        self._secret = secret
        self._budget = MessageBudget()
        self._flooded = False
        self.permissionRequested.connect(self._deny_permission)
        self.fileSystemAccessRequested.connect(self._deny_file_system)

    def acceptNavigationRequest(
        self, url: QUrl | str, type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        """Only the sandbox page itself may load, and only into the main frame."""
        url = QUrl(url)
        if is_main_frame and is_sandbox_page(url):
            return True
        self._record.add(url.toString(), "navigation")
        return False

    def createWindow(self, type: QWebEnginePage.WebWindowType) -> QWebEnginePage:
        """No pop-ups or new tabs (returning no page refuses the window)."""
        self._record.add(f"new window ({type.name})", "window")
        return None  # type: ignore[return-value]  # Qt accepts nullptr here

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line_number: int,
        source_id: str,
    ) -> None:
        """Runner reports become :attr:`script_error`; other text is only debug-logged.

        Reports need the run's secret; everything else passes a budget first, is cut to
        :data:`CONSOLE_MAX_CHARS` and never becomes an error entry or a blocked request.
        """
        if self._secret and message.startswith(TAG + self._secret):
            report = parse_report(message[: CONSOLE_MAX_CHARS * 4], self._secret)
            if report is not None:
                self.script_error.emit(report)
            return
        if not self._budget.take() or FLOOD_NOTE.match(message):
            if not self._flooded:
                self._flooded = True
                self.flooded.emit()
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "Sandbox console (%s) %s:%d %s",
                level.name,
                source_id[:200],
                line_number,
                message[:CONSOLE_MAX_CHARS],
            )

    def chooseFiles(
        self,
        mode: QWebEnginePage.FileSelectionMode,
        old_files: Sequence[str],
        accepted_mime_types: Sequence[str],
    ) -> list[str]:
        """No file dialogs from student code: refused (an empty choice) and logged."""
        self._record.add(f"file picker ({mode.name})", "file")
        return []

    def javaScriptAlert(self, _origin: QUrl | str, msg: str) -> None:
        """No modal dialogs from student code."""
        log.debug("Sandbox alert suppressed: %s", msg[:200])

    def javaScriptConfirm(self, _origin: QUrl | str, msg: str) -> bool:
        """No modal dialogs from student code (answers "cancel")."""
        log.debug("Sandbox confirm suppressed: %s", msg[:200])
        return False

    def javaScriptPrompt(self, _origin: QUrl | str, msg: str, _default: str) -> tuple[bool, str]:
        """No modal dialogs from student code (answers "cancel")."""
        log.debug("Sandbox prompt suppressed: %s", msg[:200])
        return False, ""

    def _deny_file_system(self, request: QWebEngineFileSystemAccessRequest) -> None:
        self._record.add(
            f"file system access ({request.handleType().name}) for {request.origin().toString()}",
            "file",
        )
        request.reject()

    def _deny_permission(self, permission: QWebEnginePermission) -> None:
        self._record.add(
            f"{permission.permissionType().name} for {permission.origin().toString()}",
            "permission",
        )
        permission.deny()


class CodeSandbox(QWidget):
    """Play / Stop / export for one piece of p5.js or Tone.js code.

    Create it only when a code result is shown: the web engine's processes cost a few
    hundred MiB.

    Signals:
        errors_changed(): the error list changed.
        page_loaded(bool): a run's page finished loading (False: it failed to load).
        stuck_changed(bool): the page stopped (or started again) answering.
    """

    errors_changed = Signal()
    page_loaded = Signal(bool)
    stuck_changed = Signal(bool)

    def __init__(self, translator: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tr = translator
        self._code = ""
        self._run = 0
        self._errors: list[ScriptError] = []
        self._message_key = ""
        self._message_params: dict[str, str] = {}
        self._pending_pings = 0
        self._stuck = False
        self._playing = False
        self._out_of_memory = False
        self._secret = ""
        self._lingering: set[int] = set()  # renderers of dropped pages not yet gone
        self._app_baseline = 0
        self.memory_limit = MEMORY_LIMIT
        self.app_growth_limit = APP_GROWTH_LIMIT
        started = time.perf_counter()
        # The view first: children are deleted in creation order, so pages go before the
        # profile they use.
        self.view = QWebEngineView(self)
        self.view.setObjectName("codeSandboxView")
        self.view.setMinimumSize(200, 200)
        self._sandbox = make_sandbox_profile(self)
        self.profile = self._sandbox.profile
        self.blocked = self._sandbox.blocked
        self._page: SandboxPage = self._new_page()
        self.view.setPage(self._page)
        self.play_button = QPushButton()
        self.stop_button = QPushButton()
        self.export_button = QPushButton()
        self.play_button.clicked.connect(self.play)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(self.export_html)
        self.message_label = QLabel()
        self.message_label.setObjectName("hint")
        self.message_label.setWordWrap(True)
        self.error_list = QListWidget()
        self.error_list.setObjectName("sandboxErrors")
        self.error_list.setWordWrap(True)
        self.error_list.setMaximumHeight(110)
        self.error_list.hide()
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(PING_MS)
        self._watchdog.timeout.connect(self._ping)
        self._memory_guard = QTimer(self)
        self._memory_guard.setInterval(MEMORY_CHECK_MS)
        self._memory_guard.timeout.connect(self._check_memory)
        buttons = QHBoxLayout()
        for button in (self.play_button, self.stop_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        layout.addWidget(self.error_list)
        self.setTabOrder(self.play_button, self.stop_button)
        self.setTabOrder(self.stop_button, self.export_button)
        self.setTabOrder(self.export_button, self.view)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()
        self._update_buttons()
        log.info("Code sandbox created in %.0f ms", (time.perf_counter() - started) * 1000)

    # -- public -------------------------------------------------------------------------

    @property
    def code(self) -> str:
        """The code Play runs."""
        return self._code

    @property
    def errors(self) -> tuple[ScriptError, ...]:
        """Errors of the current run, oldest first."""
        return tuple(self._errors)

    @property
    def page(self) -> SandboxPage:
        """The current run's page."""
        return self._page

    @property
    def stuck(self) -> bool:
        """True while the running page does not answer (an endless loop, most likely)."""
        return self._stuck

    def set_code(self, code: str) -> None:
        """Show new code: the old run stops; Play starts the new one."""
        self._code = code
        self._reset_page()
        self._set_message("sandbox.ready" if code.strip() else "")
        self._update_buttons()

    def play(self) -> None:
        """Run the code in a fresh page; a Tone.js piece's ``play()`` starts right away.

        The page only exists after this click, so sound never starts on its own. Where the
        engine keeps audio suspended until a click inside the page, the page shows a start
        button instead.
        """
        if not self._code.strip():
            return
        self._run += 1
        self._secret = secrets.token_hex(16)
        self._reset_page()
        self._sandbox.handler.start_run(self._code, self._secret)
        self._playing = True
        self._app_baseline = _app_rss()
        query = {"start": self._tr.tr("sandbox.start_sound"), "autostart": "1"}
        self._page.load(sandbox_url(PAGE_PATH, self._run, query))
        self._watchdog.start()
        self._memory_guard.start()
        self._set_message("sandbox.running")
        self._update_buttons()

    def stop(self) -> None:
        """Stop the sketch or piece: its page is thrown away and its renderer ended.

        Timers, workers and sound end with the renderer; the picture goes too.
        """
        if not self._playing:
            return
        stuck = self._stuck
        self._reset_page()
        self._set_message("sandbox.stopped_stuck" if stuck else "sandbox.stopped")
        self._update_buttons()

    @async_slot()
    async def export_html(self) -> None:
        """Ask for a file and write a standalone HTML page with everything inlined."""
        if not self._code.strip():
            return
        name = "piece.html" if _is_piece(self._code) else "sketch.html"
        target = ExportDialog.ask(self, self._tr.tr("sandbox.export"), Path.home() / name)
        if target is None:
            return
        if target.suffix.lower() not in {".html", ".htm"}:
            target = target.with_suffix(".html")
        try:
            await asyncio.to_thread(self._write_export, target, self._code)
        except OSError as exc:
            log.info("Could not export the code: %s", exc)
            self._set_message("sandbox.export_failed", path=str(target))  # the OS text: log
            return
        self._set_message("sandbox.exported", path=str(target))

    def _write_export(self, target: Path, code: str) -> None:
        text = build_export_html(
            code, title=target.stem, start_label=self._tr.tr("sandbox.start_sound")
        )
        target.write_text(text, "utf-8")

    def retranslate(self, _language: str = "") -> None:
        """Texts in the current language."""
        tr = self._tr.tr
        for button, key in (
            (self.play_button, "sandbox.play"),
            (self.stop_button, "sandbox.stop"),
            (self.export_button, "sandbox.export"),
        ):
            button.setText(tr(key))
            button.setAccessibleName(tr(key))
            button.setToolTip(tr(f"{key}_tip"))
        self.view.setAccessibleName(tr("sandbox.view_accessible"))
        self.error_list.setAccessibleName(tr("sandbox.errors_accessible"))
        self.message_label.setAccessibleName(tr("sandbox.message_accessible"))
        self._show_message()
        self._show_errors()

    # -- internals ----------------------------------------------------------------------

    def _new_page(self) -> SandboxPage:
        page = SandboxPage(self.profile, self.blocked, self.view, self._secret)
        page.script_error.connect(self._on_error)
        page.flooded.connect(self._on_flooded)
        page.loadFinished.connect(self._on_loaded)
        page.renderProcessTerminated.connect(self._on_terminated)
        return page

    def _reset_page(self) -> None:
        """Replace the page by an empty fresh one in a fresh off-the-record profile.

        The old page's renderer is ended at once (with its timers, workers and sound); the
        memory guard keeps watching it until it is gone. The old profile, with everything
        the last run stored, is deleted after its page.
        """
        self._watchdog.stop()
        self._pending_pings = 0
        self._set_stuck(False)
        self._playing = False
        self._out_of_memory = False
        self._errors.clear()
        self._show_errors()
        old = self._page
        old_pid = old.renderProcessPid()
        old_profile = self.profile
        self._sandbox = make_sandbox_profile(self, self.blocked)
        self.profile = self._sandbox.profile
        self._page = self._new_page()
        self.view.setPage(self._page)
        old.script_error.disconnect(self._on_error)
        old.flooded.disconnect(self._on_flooded)
        old.setLifecycleState(QWebEnginePage.LifecycleState.Discarded)
        old.deleteLater()
        old_profile.deleteLater()  # deferred deletes run in order: the page goes first
        if old_pid > 0:
            self._lingering.add(old_pid)
        self._check_lingering()
        if self._lingering:
            self._memory_guard.start()
        else:
            self._memory_guard.stop()

    def _on_loaded(self, ok: bool) -> None:
        if self.sender() is self._page:
            self.page_loaded.emit(ok)

    def _on_error(self, error: ScriptError) -> None:
        if self.sender() is not self._page or len(self._errors) >= MAX_ERRORS:
            return
        if self._errors and self._errors[-1] == error:
            return  # draw() repeats the same error every frame
        self._errors.append(error)
        self._show_errors()
        self.errors_changed.emit()

    def _on_terminated(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int
    ) -> None:
        if self.sender() is not self._page:
            return
        log.info("Sandbox renderer ended: %s (%d)", status.name, code)
        statuses = QWebEnginePage.RenderProcessTerminationStatus
        if status == statuses.NormalTerminationStatus:
            return
        self._playing = False
        self._watchdog.stop()
        self._memory_guard.stop()
        crashed = status == statuses.CrashedTerminationStatus
        if self._out_of_memory or (crashed and code in _OOM_EXIT_CODES):
            self._set_message("sandbox.out_of_memory")
        else:
            self._set_message("sandbox.crashed")
        self._update_buttons()

    def _check_lingering(self) -> None:
        """Forget dropped renderers that are gone; end again any that still runs."""
        current = self._page.renderProcessPid()
        for pid in list(self._lingering):
            if pid == current or _end_process(pid):  # never the running page's renderer
                self._lingering.discard(pid)

    def _check_memory(self) -> None:
        """End the renderer past :attr:`memory_limit`, or the run past :attr:`app_growth_limit`.

        Runs while a sketch plays and while a dropped sketch's renderer still lives.
        """
        self._check_lingering()
        if not self._playing:
            if not self._lingering:
                self._memory_guard.stop()
            return
        grown = _app_rss() - self._app_baseline
        if grown > self.app_growth_limit:
            log.info(
                "The app grew by %d MiB while a sketch ran (limit %d MiB); the sketch was stopped",
                grown >> 20,
                self.app_growth_limit >> 20,
            )
            self._reset_page()
            self._set_message("sandbox.out_of_memory")
            self._update_buttons()
            return
        pid = self._page.renderProcessPid()
        if pid <= 0 or self._out_of_memory:
            return
        try:
            process = psutil.Process(pid)
            resident = process.memory_info().rss
            if resident <= self.memory_limit:
                return
            process.kill()  # psutil refuses when the pid was reused meanwhile
        except psutil.Error:
            return
        self._out_of_memory = True
        log.info(
            "Sandbox renderer used %d MiB (limit %d MiB) and was ended",
            resident >> 20,
            self.memory_limit >> 20,
        )

    def _on_flooded(self) -> None:
        if self.sender() is self._page and self._playing and self._message_key == "sandbox.running":
            self._set_message("sandbox.running_flooded")

    def _ping(self) -> None:
        self._pending_pings += 1
        if self._pending_pings > STUCK_AFTER_PINGS:
            self._set_stuck(True)
        page = self._page
        page.runJavaScript("1", 0, lambda _result: self._pong(page))

    def _pong(self, page: SandboxPage) -> None:
        if page is self._page:
            self._pending_pings = 0
            self._set_stuck(False)

    def _set_stuck(self, stuck: bool) -> None:
        if stuck == self._stuck:
            return
        self._stuck = stuck
        if stuck:
            self._set_message("sandbox.stuck")
        self.stuck_changed.emit(stuck)

    def _set_message(self, key: str, **params: str) -> None:
        self._message_key, self._message_params = key, params
        self._show_message()

    def _show_message(self) -> None:
        key = self._message_key
        self.message_label.setText(self._tr.tr(key, **self._message_params) if key else "")

    def _show_errors(self) -> None:
        self.error_list.clear()
        for error in self._errors:
            self.error_list.addItem(self._error_text(error))
        self.error_list.setVisible(bool(self._errors))

    def _error_text(self, error: ScriptError) -> str:
        key, params = explain(error.message)
        plain = self._tr.tr(key, **params)
        if error.line > 0:
            head = self._tr.tr("sandbox.error_line", line=error.line, message=error.message)
        else:
            head = self._tr.tr("sandbox.error_no_line", message=error.message)
        return f"{head}\n{plain}"

    def _update_buttons(self) -> None:
        has_code = bool(self._code.strip())
        self.play_button.setEnabled(has_code)
        self.stop_button.setEnabled(self._playing)
        self.export_button.setEnabled(has_code)


def _app_rss() -> int:
    """Resident memory of the app's own process."""
    return int(psutil.Process().memory_info().rss)


def _end_process(pid: int) -> bool:
    """Kill a dropped page's renderer; True once it is gone (or was never ours)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        if psutil.Process().pid not in {parent.pid for parent in process.parents()}:
            return True  # the pid now belongs to something else
        process.kill()
    except psutil.Error:
        return True
    return False


def _is_piece(code: str) -> bool:
    """True for Tone.js-style code that defines ``play()`` (it starts on a click)."""
    return re.search(r"\bfunction\s+play\s*\(|\b(?:let|const|var)\s+play\s*=", code) is not None
