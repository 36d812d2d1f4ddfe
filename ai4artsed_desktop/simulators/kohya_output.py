"""Output helpers of the kohya simulator: tqdm-exact bars, log lines, safetensors files."""

from __future__ import annotations

import json
import struct
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

_BLOCKS = " ▏▎▍▌▋▊▉█"
BAR_WIDTH = 10


def format_interval(seconds: float) -> str:
    """Elapsed time as tqdm shows it: ``MM:SS`` or ``H:MM:SS``."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_num(value: float) -> str:
    """The postfix number format of tqdm: 3 significant digits unless ``str`` is shorter."""
    short = f"{value:.3g}".replace("+0", "+").replace("-0", "-")
    plain = str(value)
    return short if len(short) < len(plain) else plain


def _bar(fraction: float) -> str:
    full, partial = divmod(int(fraction * BAR_WIDTH * 8), 8)
    text = _BLOCKS[-1] * full
    if full < BAR_WIDTH:
        text += _BLOCKS[partial] if partial else ""
    return text.ljust(BAR_WIDTH)


def format_meter(
    n: int,
    total: int,
    elapsed: float,
    *,
    desc: str = "",
    postfix: Mapping[str, float] | None = None,
) -> str:
    """One tqdm bar exactly as tqdm prints it for an unknown terminal width.

    ``desc: pct%|bar| n/total [elapsed<remaining, rate, k=v]``; the rate is ``X.XXit/s``
    at one step per second or more, else ``X.XXs/it``, and ``?it/s`` before the first step.
    """
    fraction = n / total if total else 0.0
    rate = n / elapsed if n and elapsed > 0 else None
    if rate is None:
        rate_text = "?it/s"
    elif rate >= 1:
        rate_text = f"{rate:5.2f}it/s"
    else:
        rate_text = f"{1 / rate:5.2f}s/it"
    remaining = format_interval((total - n) / rate) if rate else "?"
    extra = "".join(f", {k}={format_num(v)}" for k, v in (postfix or {}).items())
    prefix = f"{desc}: " if desc else ""
    meter = f"{fraction * 100:3.0f}%|{_bar(fraction)}| {n}/{total}"
    return f"{prefix}{meter} [{format_interval(elapsed)}<{remaining}, {rate_text}{extra}]"


class Bar:
    r"""A tqdm-like bar on stderr: updates separated by ``\r``, a newline on close."""

    def __init__(self, total: int, desc: str = "", stream: TextIO | None = None) -> None:
        self.total = total
        self.desc = desc
        self.n = 0
        self.postfix: dict[str, float] = {}
        self._stream = stream or sys.stderr
        self._start = time.monotonic()
        self._first = True
        self.refresh()

    def refresh(self) -> None:
        """Write the current state."""
        text = format_meter(
            self.n, self.total, time.monotonic() - self._start, desc=self.desc, postfix=self.postfix
        )
        self._stream.write(text if self._first else "\r" + text)
        self._first = False
        self._stream.flush()

    def update(self, steps: int = 1) -> None:
        """Advance and redraw (the postfix is still the previous step's, as in tqdm)."""
        self.n += steps
        self.refresh()

    def set_postfix(self, **postfix: float) -> None:
        """Set the postfix and redraw: real tqdm draws each sd-scripts step twice."""
        self.postfix.update(postfix)
        self.refresh()

    def close(self) -> None:
        """Draw the final state once more and end the bar's line (tqdm's close)."""
        self.refresh()
        self._stream.write("\n")
        self._stream.flush()


class Console:
    """Where sd-scripts' lines go: logger lines to stdout in simple mode, else rich on stderr."""

    def __init__(self, script: str) -> None:
        self.simple = False
        self._script = script
        self._line = 100

    def info(self, message: str, level: str = "INFO") -> None:
        """A ``logger.info/warning/error`` line."""
        if self.simple:
            print(message, flush=True)
            return
        self._line += 7
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{stamp} {level:<8} {message}    {self._script}:{self._line}",
            file=sys.stderr,
            flush=True,
        )

    def warning(self, message: str) -> None:
        """A warning line."""
        self.info(message, "WARNING")

    def error(self, message: str) -> None:
        """An error line."""
        self.info(message, "ERROR")

    @staticmethod
    def accel(message: str) -> None:
        """An ``accelerator.print`` line (always stdout)."""
        print(message, flush=True)


def write_safetensors(path: Path, metadata: Mapping[str, str]) -> None:
    """A valid ``.safetensors`` file without tensors: 8-byte length, JSON header with metadata.

    Written directly (like sd-scripts, no temp file). The header is padded with spaces to a
    multiple of 8 bytes, as the format allows.
    """
    header = json.dumps({"__metadata__": dict(metadata)}, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(header)))
        handle.write(header)
