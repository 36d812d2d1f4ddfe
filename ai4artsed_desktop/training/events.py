"""Frozen events of a LoRA training run, parsed from kohya sd-scripts output or sent by the service.

A training run is an ``AsyncIterator[TrainingEvent]``: progress and log events while the
trainer runs, then exactly one of :class:`TrainingFinished`, :class:`TrainingFailed` or
:class:`TrainingStopped`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .loras import TrainedLora

ProblemKind = Literal["oom", "no_data", "missing_model", "empty_caption", "error"]
FailureCause = Literal[
    "oom", "no_data", "missing_model", "empty_caption", "no_output", "tokenizer", "crashed", "error"
]


@dataclass(frozen=True)
class TrainingStarted:
    """The trainer process was launched.

    Attributes:
        project: the project name.
        argv: the command line (for "copy details").
        config_file: the generated sd-scripts TOML.
        tier_gb: the VRAM preset tier whose settings were used.
        steps_estimate: total optimisation steps as computed before the start.
    """

    project: str
    argv: tuple[str, ...]
    config_file: Path
    tier_gb: int
    steps_estimate: int


@dataclass(frozen=True)
class TrainingProgress:
    """One update of the ``steps:`` progress bar.

    Attributes:
        step: optimisation steps done.
        total: total steps (from the ``total optimization steps`` line when it was seen).
        epoch: the current epoch (1-based; 0 before the first ``epoch i/N`` line).
        epochs: the number of epochs (0 while unknown).
        loss: the moving-average loss shown on the bar (None while unknown).
        rate: speed in steps per second (None at the start, ``?it/s``).
        eta_s: estimated seconds remaining (None while unknown).
        elapsed_s: seconds since the bar started.
    """

    step: int
    total: int
    epoch: int
    epochs: int
    loss: float | None
    rate: float | None
    eta_s: float | None
    elapsed_s: float

    @property
    def fraction(self) -> float:
        """Progress between 0 and 1."""
        return min(1.0, self.step / self.total) if self.total > 0 else 0.0


@dataclass(frozen=True)
class TrainingEpoch:
    """An epoch began (``epoch n/total``)."""

    n: int
    total: int


@dataclass(frozen=True)
class CheckpointSaved:
    """The trainer announced a checkpoint file (epoch, step or final)."""

    path: Path


@dataclass(frozen=True)
class TrainingLog:
    """A plain output line of the trainer (progress bars excluded)."""

    line: str


@dataclass(frozen=True)
class TrainingDone:
    """The trainer printed ``model saved.`` (the final file was written)."""


@dataclass(frozen=True)
class TrainingProblem:
    """A line that tells why training is failing.

    Attributes:
        kind: ``oom``, ``no_data``, ``missing_model``, ``empty_caption`` or ``error``.
        line: the output line that showed it.
    """

    kind: ProblemKind
    line: str


@dataclass(frozen=True)
class TrainingFinished:
    """Success: the final LoRA exists and was copied into the LoRA folder."""

    lora: TrainedLora


@dataclass(frozen=True)
class TrainingFailed:
    """The run ended without a usable LoRA.

    Attributes:
        cause: the likely cause (``oom``, ``no_data``, ``missing_model``, ``empty_caption``,
            ``no_output``, ``crashed`` or ``error``).
        message: what happened, in plain words.
        advice: what to do about it.
        log_tail: the last output lines (for "copy details").
        log_file: the full trainer log.
    """

    cause: FailureCause
    message: str
    advice: str
    log_tail: tuple[str, ...]
    log_file: Path | None = None


@dataclass(frozen=True)
class TrainingStopped:
    """The user stopped the run; ``message`` says that nothing was saved as a LoRA."""

    message: str
    checkpoints: tuple[Path, ...] = ()


TrainingEvent = (
    TrainingStarted
    | TrainingProgress
    | TrainingEpoch
    | CheckpointSaved
    | TrainingLog
    | TrainingDone
    | TrainingProblem
    | TrainingFinished
    | TrainingFailed
    | TrainingStopped
)
