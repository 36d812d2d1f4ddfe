"""Continuous draining of a child's stdout/stderr into its log, a ring buffer and listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Callable

from .process_types import OutputLine

log = logging.getLogger(__name__)

#: Lines are split on ``\n`` **and** ``\r`` (tqdm progress bars, Windows line ends).
_SEPARATORS = re.compile(rb"[\r\n]")
#: Longer "lines" are cut into pieces of this many bytes.
MAX_LINE_BYTES = 8192
TAIL_LINES = 200
_CHUNK = 65536

LineListener = Callable[[OutputLine], None]


def split_lines(
    buffer: bytes, data: bytes, max_bytes: int = MAX_LINE_BYTES
) -> tuple[list[bytes], bytes]:
    r"""Split ``buffer + data`` into complete lines and the unfinished rest.

    Empty lines (from ``\r\n`` pairs or blank output) are dropped; a rest longer than
    ``max_bytes`` is cut into pieces so memory stays bounded.
    """
    parts = _SEPARATORS.split(buffer + data)
    rest = parts.pop()
    lines = [part for part in parts if part]
    while len(rest) > max_bytes:
        lines.append(rest[:max_bytes])
        rest = rest[max_bytes:]
    return lines, rest


class OutputPump:
    """Reads both pipes of one child until EOF, line by line.

    Every line goes to the child's logger at INFO (routed to its own log file by
    ``logging_setup``), into a ring buffer of the last :data:`TAIL_LINES` lines, and to
    each registered listener. ``ready_line_seen`` is set when a line matches ``ready_line``.
    """

    def __init__(
        self,
        logger_name: str,
        *,
        ready_line: re.Pattern[str] | None = None,
        tail_size: int = TAIL_LINES,
    ) -> None:
        self._logger = logging.getLogger(logger_name)
        self._ready_line = ready_line
        self.tail: deque[str] = deque(maxlen=tail_size)
        self.ready_line_seen = asyncio.Event()
        if ready_line is None:
            self.ready_line_seen.set()
        self._listeners: list[LineListener] = []
        #: Lines emitted so far (a mark for :meth:`lines_since`).
        self.count = 0
        self._tasks: list[asyncio.Task[None]] = []

    def add_listener(self, listener: LineListener) -> Callable[[], None]:
        """Call ``listener`` for every future line; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def reset(self) -> None:
        """Prepare for a new process: forget the ready line (the tail is kept)."""
        if self._ready_line is not None:
            self.ready_line_seen.clear()

    def attach(
        self, stdout: asyncio.StreamReader | None, stderr: asyncio.StreamReader | None
    ) -> None:
        """Start one reader task per pipe (strong references are kept here)."""
        loop = asyncio.get_running_loop()
        for stream_name, reader in (("stdout", stdout), ("stderr", stderr)):
            if reader is not None:
                task = loop.create_task(self._read(stream_name, reader), name=f"read-{stream_name}")
                self._tasks.append(task)

    async def drain(self, limit: float) -> None:
        """Wait until both pipes reached EOF (at most ``limit`` s), then stop reading.

        A grandchild that inherited the pipes can keep them open after the child died;
        the timeout keeps that from blocking the supervisor.
        """
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def lines_since(self, mark: int) -> list[str]:
        """The lines emitted after ``count`` was ``mark`` (as far as the ring buffer reaches)."""
        wanted = min(self.count - mark, len(self.tail))
        return list(self.tail)[len(self.tail) - wanted :] if wanted > 0 else []

    def emit(self, stream: str, text: str) -> None:
        """Record one line (also used for the supervisor's own notes in the tail)."""
        self.tail.append(text)
        self.count += 1
        self._logger.info("%s", text)
        if self._ready_line is not None and self._ready_line.search(text):
            self.ready_line_seen.set()
        line = OutputLine(stream, text)
        for listener in list(self._listeners):
            try:
                listener(line)
            except Exception:
                log.exception("output listener %r failed", listener)

    async def _read(self, stream: str, reader: asyncio.StreamReader) -> None:
        rest = b""
        while True:
            data = await reader.read(_CHUNK)
            if not data:
                break
            lines, rest = split_lines(rest, data)
            for raw in lines:
                self._emit_raw(stream, raw)
        if rest:
            self._emit_raw(stream, rest)

    def _emit_raw(self, stream: str, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip()
        if text:
            self.emit(stream, text)
