"""Frozen event and state types shared by backends, services and view-models.

Long operations (LLM streams, model pulls, ComfyUI jobs, training) are async iterators
of these events, so one view-model pattern serves all of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class BackendState(enum.Enum):
    """Life cycle of a backend (managed child process or remote URL)."""

    not_installed = "not_installed"
    stopped = "stopped"
    starting = "starting"
    ready = "ready"
    failed = "failed"
    crashed = "crashed"
    restarting = "restarting"

    @property
    def is_usable(self) -> bool:
        """True when requests can be sent now."""
        return self is BackendState.ready


@dataclass(frozen=True)
class BackendStateChanged:
    """A backend moved to a new state; ``message`` is a short user-facing reason."""

    backend: str
    state: BackendState
    message: str = ""


# ------------------------------------------------------------------ text generation


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed LLM output (``thinking`` marks reasoning text)."""

    text: str
    thinking: bool = False


@dataclass(frozen=True)
class TextDone:
    """The LLM stream ended normally."""

    text: str
    thinking: str = ""
    done_reason: str = "stop"
    load_ms: float = 0.0
    total_ms: float = 0.0
    eval_count: int = 0


@dataclass(frozen=True)
class PullProgress:
    """Progress of a model download, summed over all layers."""

    status: str
    completed: int = 0
    total: int = 0


# ------------------------------------------------------------------ media jobs


@dataclass(frozen=True)
class JobQueued:
    """A job was accepted by the backend."""

    job_id: str


@dataclass(frozen=True)
class JobStarted:
    """The backend started executing the job."""

    job_id: str
    cached_nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeExecuting:
    """A graph node started running."""

    job_id: str
    node: str


@dataclass(frozen=True)
class JobProgress:
    """Step progress inside a job (sampler steps, training steps)."""

    job_id: str
    step: int
    total: int
    node: str = ""


@dataclass(frozen=True)
class JobPreview:
    """A live preview frame (encoded image bytes)."""

    job_id: str
    image: bytes = field(repr=False)
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class OutputFile:
    """A file a backend produced, as the backend names it."""

    filename: str
    subfolder: str = ""
    type: str = "output"
    kind: str = "images"


@dataclass(frozen=True)
class JobFinished:
    """The job completed; ``outputs`` lists the files it produced."""

    job_id: str
    outputs: tuple[OutputFile, ...] = ()


@dataclass(frozen=True)
class JobFailed:
    """The job failed on the backend."""

    job_id: str
    message: str
    detail: str = ""
    node: str = ""


@dataclass(frozen=True)
class JobInterrupted:
    """The job was interrupted (cancel) before it finished."""

    job_id: str


@dataclass(frozen=True)
class SavedFile:
    """A result file that now lives on our disk."""

    path: Path
    mime: str
