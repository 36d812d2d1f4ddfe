"""One window per data folder, proven with real app processes (offscreen windows).

A second start raises the first window and exits without touching the first one's backend
records; a headless ``run`` works next to the window and leaves the window's servers alone;
a window that was SIGKILLed leaves a lock file and a socket behind that the next start takes
over.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from ai4artsed_desktop.backends.process_record import RecordFile
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.system import processes
from ai4artsed_desktop.ui.single_instance import server_name

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
APP = (sys.executable, "-m", "ai4artsed_desktop")

pytestmark = pytest.mark.timeout(120)


def _wait(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _log_messages(base: Path) -> list[str]:
    try:
        text = (base / "logs" / "app.log").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    messages = []
    for line in text.splitlines():
        try:
            messages.append(str(json.loads(line)["message"]))
        except (ValueError, KeyError):
            continue  # a line being written right now
    return messages


def _shown_count(base: Path) -> int:
    return sum(m.startswith("Window shown") for m in _log_messages(base))


def _start_window(base: Path, shown_before: int = 0) -> subprocess.Popen[bytes]:
    window = subprocess.Popen(
        [*APP, "--demo", "--data-dir", str(base), "--log-format", "json"],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(lambda: _shown_count(base) > shown_before, 60, "the window")
        # It listens for second starts right after the window is shown.
        _wait(lambda: any("second starts" in m for m in _log_messages(base)[-20:]), 10, "listen")
    except AssertionError:
        window.kill()
        _out, err = window.communicate()
        raise AssertionError(f"window did not start: {err.decode(errors='replace')}") from None
    return window


def _stop(window: subprocess.Popen[bytes]) -> int:
    if window.poll() is None:
        window.send_signal(signal.SIGTERM)
    try:
        return window.wait(30)
    finally:
        if window.stderr is not None:
            window.stderr.close()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing in for one of the window's backend servers."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def _owner_of(proc: subprocess.Popen[bytes]) -> str:
    return f"{proc.pid}:{psutil.Process(proc.pid).create_time():.2f}"


def test_second_start_raises_the_first_and_touches_none_of_its_backends(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    base = tmp_path / "seat"
    window = _start_window(base)
    try:
        # The window's "Ollama": a live process recorded with the window as its owner and
        # arguments no other start would build (the demo picks a free port per start).
        state_dir = AppPaths.under(base).state_dir
        ctime = processes.create_time(sleeper.pid)
        assert ctime is not None
        RecordFile(state_dir, "ollama").write(
            sleeper.pid, ctime, 1, ("ollama", "serve", "--window"), owner=_owner_of(window)
        )
        record_before = (state_dir / "ollama.json").read_bytes()

        second = subprocess.run(
            [*APP, "--demo", "--data-dir", str(base), "--log-format", "json"],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "already open for this data folder" in second.stderr
        assert f"pid {window.pid}" in second.stderr
        assert "brought to the front" in second.stderr
        _wait(lambda: any("come to the front" in m for m in _log_messages(base)), 10, "the raise")
        assert window.poll() is None
        assert _shown_count(base) == 1  # the second start built no window of its own

        # A headless run works next to the window with its own demo servers ...
        headless = [
            *("run", "--demo", "--json", "--data-dir", str(base), "--level", "adult"),
            *("--idea", "Ein Fuchs im Schnee", "--output", "sd15"),
        ]
        run = subprocess.run(
            [*APP, *headless],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert run.returncode == 0, run.stderr
        done = json.loads(run.stdout.splitlines()[-1])
        assert (done["event"], done["status"]) == ("done", "done")
        # ... and neither start killed nor rewrote what belongs to the window.
        assert sleeper.poll() is None
        assert (state_dir / "ollama.json").read_bytes() == record_before
        assert not [m for m in _log_messages(base) if "removing leftover" in m]
        assert window.poll() is None
    finally:
        assert _stop(window) == 0
    assert sleeper.poll() is None  # the window's own shutdown does not know this process


def test_lock_and_socket_left_by_a_killed_window_are_taken_over(tmp_path: Path) -> None:
    base = tmp_path / "seat"
    first = _start_window(base)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    if first.stderr is not None:
        first.stderr.close()
    assert (AppPaths.under(base).state_dir / "app.lock").exists()
    if sys.platform.startswith("linux"):
        # The crashed window's Unix socket is still there (Qt puts it in the temp folder).
        name = server_name(AppPaths.under(base).data_dir)
        assert (Path(tempfile.gettempdir()) / name).is_socket()
    again = _start_window(base, shown_before=1)
    try:
        second = subprocess.run(
            [*APP, "--data-dir", str(base)],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert f"pid {again.pid}" in second.stderr
    finally:
        assert _stop(again) == 0


def test_smoke_test_and_profile_import_refuse_a_folder_with_an_open_window(
    tmp_path: Path,
) -> None:
    """The smoke test would only raise the window; a profile import would be overwritten by
    the window's next settings change. Both say so and change nothing."""
    base = tmp_path / "seat"
    profile = tmp_path / "lesson.json"
    export = subprocess.run(
        [*APP, "profile", "export", str(profile), "--data-dir", str(tmp_path / "teacher")],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert export.returncode == 0, export.stderr
    window = _start_window(base)
    try:
        settings_file = AppPaths.under(base).settings_file
        before = settings_file.read_bytes() if settings_file.exists() else b""
        smoke = subprocess.run(
            [*APP, "--smoke-test", "--data-dir", str(base)],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert smoke.returncode == 1
        assert "its own --data-dir" in smoke.stderr
        imported = subprocess.run(
            [*APP, "profile", "import", str(profile), "--data-dir", str(base)],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 1
        assert "The app is open on this seat" in imported.stderr
        assert (settings_file.read_bytes() if settings_file.exists() else b"") == before
    finally:
        assert _stop(window) == 0
