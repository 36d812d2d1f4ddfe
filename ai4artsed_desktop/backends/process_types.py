"""Value types of the process supervisor: what to launch, restart policy, how it ended."""

from __future__ import annotations

import re
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: An async readiness check: True when the server answers its API.
Probe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class LaunchSpec:
    """What to run for one managed backend (built by :mod:`.launchers`).

    Attributes:
        name: short id used for logs, records and events ("ollama", "comfyui", "kohya").
        display_name: the name users read ("Ollama").
        argv: program and arguments; ``argv[0]`` is resolved with ``shutil.which``.
        cwd: working folder, or None for the app's.
        env: extra environment, merged into a cleaned copy of ``os.environ``.
        port: the port the server must own on 127.0.0.1 (None for trainers).
        ready_probe: async HTTP probe; None means "ready as soon as it runs".
        ready_line: optional pattern one output line must match before it counts as ready.
        startup_timeout: seconds a start may take before it counts as failed.
        probe_interval: seconds between readiness checks.
        probe_timeout: upper bound for one probe call.
        log_name: name of the child's log (default ``name``); the logger is
            ``ai4artsed.child.<log_name>``.
        new_session: start the child in its own session / process group (POSIX).
        required_paths: files that must exist, else the backend counts as not installed.
        install_hint: plain advice shown when the program or a required file is missing.
        one_shot: a job rather than a server (training): its exit is the normal end, never
            a crash, and it is never restarted.
        starting_message: what the "starting" state says instead of "<name> is starting…"
            (SwarmUI's first start installs .NET and builds; it says so).
        installs: this start installs and builds first: the state is ``installing``
            instead of ``starting`` until the server is ready or the start fails.
    """

    name: str
    display_name: str
    argv: tuple[str, ...]
    cwd: Path | None
    env: Mapping[str, str]
    port: int | None
    ready_probe: Probe | None
    ready_line: re.Pattern[str] | None = None
    startup_timeout: float = 180.0
    probe_interval: float = 0.05
    probe_timeout: float = 2.0
    log_name: str = ""
    new_session: bool = True
    required_paths: tuple[Path, ...] = ()
    install_hint: str = ""
    one_shot: bool = False
    starting_message: str = ""
    installs: bool = False

    @property
    def logger_name(self) -> str:
        """The logger whose records go to this child's own log file."""
        return f"ai4artsed.child.{self.log_name or self.name}"


@dataclass(frozen=True)
class RestartPolicy:
    """Automatic restarts after a crash (only for a server that was ready once).

    Attributes:
        max_restarts: consecutive restarts before giving up (0 disables restarts).
        base_delay: delay before the first restart; doubled for each further one.
        max_delay: upper bound of the delay.
        reset_after: a server that stayed up this long starts counting from zero again.
    """

    max_restarts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    reset_after: float = 120.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number ``attempt`` (0-based)."""
        return float(min(self.max_delay, self.base_delay * (2**attempt)))


@dataclass(frozen=True)
class OutputLine:
    """One output line; ``stream`` is stdout, stderr or supervisor (our own notes)."""

    stream: str
    text: str


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class ProcessOutcome:
    """How a child process ended.

    Attributes:
        display_name: the backend's user-facing name.
        returncode: the exit status (negative on POSIX: killed by that signal); None when
            unknown (an adopted server is not our child, so its status cannot be read).
        ran_for: seconds between start (or adoption) and exit.
        tail: the last output lines.
    """

    display_name: str
    returncode: int | None
    ran_for: float = 0.0
    tail: tuple[str, ...] = field(default=(), repr=False)

    @property
    def signal(self) -> int | None:
        """The signal number that ended the process, if any (POSIX)."""
        if self.returncode is not None and self.returncode < 0:
            return -self.returncode
        return None

    @property
    def ok(self) -> bool:
        """True for exit code 0."""
        return self.returncode == 0

    def summary(self) -> str:
        """One sentence without the log hint, e.g. "Ollama exited with code 1."."""
        if self.returncode is None:
            return f"{self.display_name} stopped."
        sig = self.signal
        if sig is not None:
            return f"{self.display_name} was killed by signal {sig} ({_signal_name(sig)})."
        if self.returncode == 0:
            return f"{self.display_name} exited normally."
        return f"{self.display_name} exited with code {self.returncode}."

    def __str__(self) -> str:
        return f"{self.summary()} See the log for details."
