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
    #: A first start that installs and builds before it serves (SwarmUI: .NET, a build).
    installing = "installing"
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
    """A backend moved to a new state; ``message`` is a short user-facing reason.

    ``message`` is English (log, command line); ``key`` and ``params`` name it in the UI
    catalogues ("" when there is no key).
    """

    backend: str
    state: BackendState
    message: str = ""
    key: str = ""
    params: tuple[tuple[str, str], ...] = ()


# ------------------------------------------------------------------ text generation


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed LLM output (``thinking`` marks reasoning text)."""

    text: str
    thinking: bool = False


#: Stop reasons that mean "the token limit cut the answer off", as the servers spell them:
#: Ollama, OpenAI, llama.cpp and vLLM send ``length``; Mistral also ``model_length`` (the
#: context is full); Anthropic-style gateways ``max_tokens``; OpenAI's newer API
#: ``max_output_tokens``.
LENGTH_REASONS = frozenset({"length", "model_length", "max_tokens", "max_output_tokens"})


def normalize_done_reason(raw: str | None) -> str:
    """One spelling for every provider's stop reason.

    Every token-limit reason becomes ``length``; an empty or missing reason is ``stop``
    (a stream that ended normally); anything else (``content_filter``, ``load``, ...) is
    kept in lower case.
    """
    reason = (raw or "").strip().lower()
    if reason in LENGTH_REASONS:
        return "length"
    return reason or "stop"


@dataclass(frozen=True)
class TextDone:
    """The LLM stream ended normally.

    ``done_reason`` is normalised on construction (:func:`normalize_done_reason`), so
    ``truncated`` means the same for Ollama, llama.cpp and every OpenAI-style provider:
    the model was still writing when the token limit stopped it.
    """

    text: str
    thinking: str = ""
    done_reason: str = "stop"
    load_ms: float = 0.0
    total_ms: float = 0.0
    eval_count: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "done_reason", normalize_done_reason(self.done_reason))

    @property
    def truncated(self) -> bool:
        """The answer was cut off by the token limit (``done_reason == "length"``)."""
        return self.done_reason == "length"


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


# ------------------------------------------------------------------ pipeline runs


class Stage(enum.Enum):
    """The stages of one run (product.md §2), in order."""

    input_safety = "input_safety"
    interception = "interception"
    adaptation = "adaptation"
    translation = "translation"
    output_safety = "output_safety"
    generation = "generation"
    media_check = "media_check"


@dataclass(frozen=True)
class StageStarted:
    """A stage began; ``model`` names the model or backend doing the work."""

    run_id: str
    stage: Stage
    model: str = ""


@dataclass(frozen=True)
class StageText:
    """Streamed text of a text stage (interception, adaptation, translation)."""

    run_id: str
    stage: Stage
    delta: str


@dataclass(frozen=True)
class StageChecking:
    """The stage's text (or image) is with the safety check now; the UI says "checking…"."""

    run_id: str
    stage: Stage


@dataclass(frozen=True)
class StageCompleted:
    """A stage finished; ``text`` is its full output for text stages ("" otherwise)."""

    run_id: str
    stage: Stage
    text: str = ""
    badge: str = ""  # short note for the UI ("safety passed", "translated", "LoRA applied")


@dataclass(frozen=True)
class RunProgress:
    """Real progress of the generation stage (sampler steps)."""

    run_id: str
    step: int
    total: int


@dataclass(frozen=True)
class RunPreview:
    """A live preview frame during generation."""

    run_id: str
    image: bytes = field(repr=False)
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class RunBlocked:
    """Safety stopped the run; ``reason`` is in student-friendly words."""

    run_id: str
    stage: Stage
    reason: str


@dataclass(frozen=True)
class RunFailed:
    """The run failed; ``message`` says what happened and what to do.

    ``key`` and ``params`` name the message in the UI catalogues (see ``AppError``); an
    empty key means only the English ``message`` exists.
    """

    run_id: str
    stage: Stage
    message: str
    detail: str = ""
    key: str = ""
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunCancelled:
    """The user cancelled the run."""

    run_id: str
    stage: Stage


@dataclass(frozen=True)
class RunStopped:
    """The run paused after ``stage``; nothing is running.

    It comes from ``advance(until=...)`` or a saved run that stopped there; its texts can be
    edited and it can go on later.
    """

    run_id: str
    stage: Stage


@dataclass(frozen=True)
class RunResult:
    """The run is complete: where its folder and media are."""

    run_id: str
    folder: Path
    media: tuple[SavedFile, ...] = ()
    code: str = ""  # for code outputs: the final code
