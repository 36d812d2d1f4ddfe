"""How long Ollama keeps a model loaded after each request (protocols.md §1.9 and the top box).

Ollama applies the ``keep_alive`` of *every* request, and a request without one resets the
timer to the server default (5 minutes). So one value must go with every call, and it
follows the lesson: after "Prepare lesson" every request keeps the models for the lesson
(45 minutes), after "Release" (or before any lesson) the ordinary 5 minutes apply, so an
idle lab PC gives its memory back.

Values are Go duration strings: a plain ``"300"`` or ``"-1"`` string is a 400 error in
Ollama, so numbers are never sent as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LESSON_KEEP_ALIVE = "45m"
IDLE_KEEP_ALIVE = "5m"
_DURATION = re.compile(r"^-?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$")


def check_duration(value: str) -> str:
    """``value`` when it is a Go duration Ollama accepts (``45m``, ``1h30m``).

    Raises:
        ValueError: anything else (``"300"`` or ``"-1"`` would be refused with HTTP 400).
    """
    if not _DURATION.match(value.strip()):
        raise ValueError(f"keep_alive {value!r} is not a duration like 45m or 1h")
    return value.strip()


@dataclass
class KeepAlivePolicy:
    """The keep-alive every Ollama request carries; shared by the runner, judge and warm-up."""

    lesson: str = LESSON_KEEP_ALIVE
    idle: str = IDLE_KEEP_ALIVE
    lesson_running: bool = False

    def current(self) -> str:
        """The value for the next request."""
        return self.lesson if self.lesson_running else self.idle

    def start_lesson(self, keep_alive: str | None = None) -> str:
        """A lesson was prepared: keep models for ``keep_alive`` (default 45 min)."""
        if keep_alive is not None:
            self.lesson = check_duration(keep_alive)
        self.lesson_running = True
        return self.lesson

    def end_lesson(self) -> None:
        """The models were released: back to the short default."""
        self.lesson_running = False
