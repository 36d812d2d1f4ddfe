"""Logging: one hierarchy, rotating app log, one log file per child process, startup banner.

Records emitted before :func:`configure` runs are buffered in memory and flushed into the
real handlers, so nothing logged during start-up is lost.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import logging.handlers
import platform
import sys
from pathlib import Path
from typing import Any

from . import __version__

ROOT = "ai4artsed_desktop"
CHILD_PREFIX = "ai4artsed.child."
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 4
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_startup_buffer: logging.handlers.MemoryHandler | None = None


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``--log-format json``, for end-to-end tests)."""

    def format(self, record: logging.LogRecord) -> str:
        """See :class:`logging.Formatter`."""
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def install_startup_buffer() -> None:
    """Buffer records until :func:`configure` (call first thing in ``main``)."""
    global _startup_buffer
    if _startup_buffer is not None:
        return
    _startup_buffer = logging.handlers.MemoryHandler(
        capacity=10_000, flushLevel=logging.CRITICAL + 1
    )
    root = logging.getLogger()
    root.addHandler(_startup_buffer)
    root.setLevel(logging.DEBUG)


def _rotating(path: Path, formatter: logging.Formatter) -> logging.Handler:
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(formatter)
    return handler


def configure(
    log_dir: Path, *, level: int = logging.INFO, json_format: bool = False, console: bool = True
) -> None:
    """Install the app log (``app.log``) and the console handler; flush the startup buffer.

    Raises:
        OSError: the log folder cannot be created.
    """
    global _startup_buffer
    log_dir.mkdir(parents=True, exist_ok=True)
    formatter: logging.Formatter = (
        JsonFormatter() if json_format else logging.Formatter(_TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.setLevel(level)
    handlers: list[logging.Handler] = [_rotating(log_dir / "app.log", formatter)]
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        stream.setLevel(logging.WARNING if not json_format else level)
        handlers.append(stream)
    for handler in handlers:
        root.addHandler(handler)
    _configure_children(log_dir, json_format)
    if _startup_buffer is not None:
        root.removeHandler(_startup_buffer)
        for record in _startup_buffer.buffer:
            if record.levelno >= level:
                for handler in handlers:
                    handler.handle(record)
        _startup_buffer.close()
        _startup_buffer = None
    for noisy in ("httpx", "httpcore", "websockets", "asyncio", "aiohttp.access", "PIL"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class ChildLogRouter(logging.Handler):
    """Routes ``ai4artsed.child.<name>`` records into ``<log_dir>/<name>.log`` (rotating).

    Attached to the ``ai4artsed.child`` logger, which does not propagate: child output
    never drowns the app's own log. Files are opened lazily on the first record.
    """

    def __init__(self, log_dir: Path, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self._log_dir = log_dir
        self._formatter = formatter
        self._files: dict[str, logging.Handler] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """See :class:`logging.Handler`."""
        name = record.name[len(CHILD_PREFIX) :].split(".")[0] or "child"
        handler = self._files.get(name)
        if handler is None:
            handler = _rotating(self._log_dir / f"{name}.log", self._formatter)
            self._files[name] = handler
        handler.handle(record)

    def close(self) -> None:
        """Close every per-child file."""
        for handler in self._files.values():
            handler.close()
        self._files.clear()
        super().close()


def _configure_children(log_dir: Path, json_format: bool) -> None:
    parent = logging.getLogger(CHILD_PREFIX.rstrip("."))
    parent.propagate = False
    parent.setLevel(logging.INFO)
    for handler in list(parent.handlers):
        if isinstance(handler, ChildLogRouter):
            parent.removeHandler(handler)
            handler.close()
    formatter: logging.Formatter = (
        JsonFormatter() if json_format else logging.Formatter("%(asctime)s %(message)s")
    )
    parent.addHandler(ChildLogRouter(log_dir, formatter))


def child_logger(name: str) -> logging.Logger:
    """The logger for one child process's output; it lands in ``<name>.log`` only."""
    return logging.getLogger(CHILD_PREFIX + name)


def banner_lines(gpu_description: str) -> list[str]:
    """The startup banner: versions, OS and GPU (or "no NVIDIA GPU")."""
    try:
        qt = f"PySide6 {importlib.metadata.version('PySide6')}"
    except importlib.metadata.PackageNotFoundError:  # the headless CLI may run without Qt
        qt = "PySide6 not installed"
    return [
        f"AI4ArtsEd Desktop {__version__}",
        f"Python {platform.python_version()} ({sys.executable})",
        qt,
        f"OS {platform.platform()}",
        f"GPU: {gpu_description}",
    ]


def log_banner(gpu_description: str) -> None:
    """Write the startup banner to the app log."""
    log = logging.getLogger(ROOT)
    for line in banner_lines(gpu_description):
        log.info("%s", line)
