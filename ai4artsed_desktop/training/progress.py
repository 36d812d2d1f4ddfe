r"""Parse kohya sd-scripts output into training events (protocols.md 4.5).

Output arrives in chunks that may split lines anywhere; tqdm separates bar updates with
``\r`` only, so lines are split on both ``\r`` and ``\n``. Only bars described ``steps:``
are training progress; latent-caching bars (no description) and validation bars
(``validation steps`` / ``epoch validation steps``) are dropped. The total comes from the
``total optimization steps`` line (``max_train_epochs`` silently overrides
``max_train_steps``), the bar's own total is the fallback.

Real tqdm draws each training step twice: ``update(1)`` redraws the bar with the postfix
of the step before, then ``set_postfix(avr_loss=...)`` redraws the same step with its own
loss. A draw that advanced the step but repeats the previous draw's postfix therefore
carries no loss of its own (``loss`` None); the loss comes with the second draw. A
traceback that Python writes straight after a bar (no newline between the ``\r`` bar and
``Traceback``) is split off the bar and kept as a log line.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from .events import (
    CheckpointSaved,
    ProblemKind,
    TrainingDone,
    TrainingEpoch,
    TrainingLog,
    TrainingProblem,
    TrainingProgress,
)

ParsedEvent = (
    TrainingProgress
    | TrainingEpoch
    | CheckpointSaved
    | TrainingLog
    | TrainingDone
    | TrainingProblem
)

_SPLIT = re.compile(r"[\r\n]")
_PROGRESS = re.compile(
    r"^steps:\s+(\d+)%\|[^|]*\|\s*(\d+)/(\d+)\s+\[([\d:]+)<([\d:?]+),\s+([\d.?]+)(it/s|s/it)"
    r"(?:,\s*([^\]]*))?\]"
)
_POSTFIX = re.compile(r"([^=,]+)=([^,\]]+)")
#: Any other tqdm bar (caching, validation): "...NN%|bar| n/total [".
_OTHER_BAR = re.compile(r"\d+%\|[^|]*\|\s*\d+/\d+\s+\[")
_EPOCH = re.compile(r"^epoch (\d+)/(\d+)$")
_SAVE = re.compile(r"^saving checkpoint: (.+\.safetensors)$")
_TOTAL = re.compile(r"total optimization steps / .*?: (\d+)$")
_EPOCHS = re.compile(r"^\s*num epochs / .*?: (\d+)$")
_DONE = re.compile(r"^model saved\.$")
_PROBLEMS: tuple[tuple[ProblemKind, re.Pattern[str]], ...] = (
    ("no_data", re.compile(r"^No data found\.")),
    ("oom", re.compile(r"CUDA out of memory|OutOfMemoryError")),
    ("empty_caption", re.compile(r"caption file is empty")),
    (
        "missing_model",
        re.compile(
            r"(No such file or directory|FileNotFoundError|does not exist|not found)"
            r".*\.(safetensors|ckpt|pt|pth|bin|sft|gguf)\b",
            re.IGNORECASE,
        ),
    ),
    ("error", re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt)\b")),
)
#: accelerate's own last line when the training script failed: not the cause.
_WRAPPER_ERROR = re.compile(r"CalledProcessError: Command .* returned non-zero exit status")


def parse_duration(text: str) -> float | None:
    """``MM:SS`` or ``H:MM:SS`` in seconds; None for ``?``."""
    if not text or "?" in text:
        return None
    seconds = 0.0
    for part in text.split(":"):
        if not part.isdecimal():
            return None
        seconds = seconds * 60 + int(part)
    return seconds


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class ProgressParser:
    """Feed raw output (:meth:`feed`) or ready-split lines (:meth:`feed_line`); get events.

    The parser also remembers what it saw, for the service's verdict: ``problems`` (first
    of each kind), ``checkpoints``, ``done``, ``total`` and the ``last`` progress.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._rest = ""
        self.total = 0
        self.epoch = 0
        self.epochs = 0
        self.done = False
        self.last: TrainingProgress | None = None
        self.problems: list[TrainingProblem] = []
        #: The last line of each problem kind (the fatal error ends a traceback).
        self.latest: dict[ProblemKind, TrainingProblem] = {}
        self.checkpoints: list[Path] = []
        self._postfix: str | None = None

    # ------------------------------------------------------------------ input
    def feed(self, chunk: bytes | str) -> list[ParsedEvent]:
        """Parse a chunk of raw output; an unfinished last line waits for the next chunk."""
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        parts = _SPLIT.split(self._rest + text)
        self._rest = parts.pop()
        events: list[ParsedEvent] = []
        for part in parts:
            events += self.feed_line(part)
        return events

    def finish(self) -> list[ParsedEvent]:
        """Parse what is left when the output ended (a last line without a newline)."""
        rest = self._rest + self._decoder.decode(b"", final=True)
        self._rest = ""
        return self.feed_line(rest)

    def problem(self, *kinds: ProblemKind) -> TrainingProblem | None:
        """The first problem seen among ``kinds`` (all kinds when none are given)."""
        for found in self.problems:
            if not kinds or found.kind in kinds:
                return found
        return None

    def last_problem(self, kind: ProblemKind) -> TrainingProblem | None:
        """The last line of ``kind`` seen (for ``error``: the fatal one, the traceback's end)."""
        return self.latest.get(kind)

    # ------------------------------------------------------------------ lines
    def feed_line(self, line: str) -> list[ParsedEvent]:
        r"""Parse one complete line (no ``\r``/``\n`` inside)."""
        line = line.rstrip()
        if not line:
            return []
        if line.startswith("steps:"):
            match = _PROGRESS.match(line)
            if match is not None:
                rest = line[match.end() :].lstrip(" ")  # a traceback glued to the bar
                return [self._progress(match), *self.feed_line(rest)]
        if _OTHER_BAR.search(line):
            return []  # caching and validation bars are not training progress
        events: list[ParsedEvent] = [TrainingLog(line)]
        structured = self._structured(line)
        if structured is not None:
            events.append(structured)
        return events

    def _structured(self, line: str) -> ParsedEvent | None:
        match = _EPOCH.match(line)
        if match:
            self.epoch, self.epochs = int(match[1]), int(match[2])
            return TrainingEpoch(self.epoch, self.epochs)
        match = _SAVE.match(line)
        if match:
            path = Path(match[1])
            self.checkpoints.append(path)
            return CheckpointSaved(path)
        if _DONE.match(line):
            self.done = True
            return TrainingDone()
        match = _TOTAL.search(line)
        if match:
            self.total = int(match[1])
            return None
        match = _EPOCHS.match(line)
        if match:
            self.epochs = self.epochs or int(match[1])
            return None
        return self._problem(line)

    def _problem(self, line: str) -> TrainingProblem | None:
        for kind, pattern in _PROBLEMS:
            if pattern.search(line):
                found = TrainingProblem(kind, line)
                if not _WRAPPER_ERROR.search(line):
                    self.latest[kind] = found
                if any(p.kind == kind for p in self.problems):
                    return None
                self.problems.append(found)
                return found
        return None

    def _progress(self, match: re.Match[str]) -> TrainingProgress:
        step, bar_total = int(match[2]), int(match[3])
        rate = _number(match[6])
        if rate is not None and match[7] == "s/it":
            rate = 1.0 / rate if rate > 0 else None
        loss = None
        postfix = match[8] or ""
        # update(1) draws the new step with the last step's postfix: that loss is not its own.
        stale = self.last is not None and step != self.last.step and postfix == self._postfix
        self._postfix = postfix
        if postfix and not stale:
            pairs = {k.strip(): v.strip() for k, v in _POSTFIX.findall(postfix)}
            raw = pairs.get("avr_loss", pairs.get("loss"))
            loss = _number(raw) if raw is not None else None
        progress = TrainingProgress(
            step=step,
            total=self.total or bar_total,
            epoch=self.epoch,
            epochs=self.epochs,
            loss=loss,
            rate=rate,
            eta_s=parse_duration(match[5]),
            elapsed_s=parse_duration(match[4]) or 0.0,
        )
        self.last = progress
        return progress
