"""The verdict on an ended trainer: success only with the final file, else a likely cause."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..backends.diagnostics import diagnose
from ..backends.process_types import ProcessOutcome
from .events import FailureCause, ProblemKind, TrainingFailed, TrainingStopped
from .progress import ProgressParser

#: Message and advice per cause; the parser's problems are checked in this order.
CAUSES: dict[FailureCause, tuple[str, str]] = {
    "oom": (
        "The graphics card ran out of memory during training.",
        "Lower the batch size or choose a smaller VRAM preset, and close other programs "
        "that use the graphics card.",
    ),
    "missing_model": (
        "A model file the trainer needs was not found.",
        "Check the base model in Settings → Training; SD 3.5 also needs the clip_l, clip_g "
        "and t5xxl text encoder files next to it.",
    ),
    "empty_caption": (
        "A caption file is empty, which stops the trainer.",
        "Prepare the dataset again: every image needs a caption with at least the trigger word.",
    ),
    "no_data": (
        "The trainer found no images to train on.",
        "Prepare the dataset again; the images must be in images/<repeats>_<trigger>/ "
        "inside the project folder.",
    ),
    "tokenizer": (
        "The trainer could not load one of its text tokenizers (CLIP-L, CLIP-G or, for "
        "SD 3.5, T5-XXL) from the app's cache and could not fetch it from the internet.",
        "The app ships these tokenizers and copies them into the folder 'tokenizers' in its "
        "cache folder before each training. Delete that folder so the app copies them "
        "anew; if that does not help, reinstall the app (its tokenizers are missing).",
    ),
    "no_output": (
        "The trainer ended without writing the LoRA file.",
        "See the log for details, then start the training again.",
    ),
}
#: transformers' lines when a tokenizer is neither in sd-scripts' ``tokenizer_cache_dir`` nor
#: fetchable (offline, a missing T5 ends in an ImportError about protobuf that names nothing).
_TOKENIZER_FAILED = re.compile(
    r"requires the (?:protobuf|SentencePiece) library but it was not found"
    r"|Can't load tokenizer for|couldn't connect to 'https://huggingface\.co'"
)
_PROBLEM_ORDER: tuple[ProblemKind, ...] = ("oom", "missing_model", "empty_caption", "no_data")


def failure(
    outcome: ProcessOutcome,
    parser: ProgressParser,
    tail: Sequence[str],
    log_file: Path | None,
) -> TrainingFailed:
    """The likely cause of a run that left no final LoRA, with advice and the log tail."""
    for cause in _PROBLEM_ORDER:
        if parser.problem(cause) is not None:
            message, advice = CAUSES[cause]
            return TrainingFailed(cause, message, advice, tuple(tail), log_file)
    if outcome.returncode == 0:
        message, advice = CAUSES["no_output"]
        return TrainingFailed("no_output", message, advice, tuple(tail), log_file)
    if any(_TOKENIZER_FAILED.search(line) for line in tail):
        message, advice = CAUSES["tokenizer"]
        return TrainingFailed("tokenizer", message, advice, tuple(tail), log_file)
    hint = diagnose(tail)
    error = parser.last_problem("error")  # the fatal line ends the traceback
    summary = outcome.summary().replace(outcome.display_name, "The trainer", 1)
    if error is not None:
        summary = f"{summary} Last error: {error.line}"
    if hint is not None:
        return TrainingFailed(
            "error", f"{hint.title} {summary}", hint.action, tuple(tail), log_file
        )
    advice = "See the log for details. Training can be started again."
    return TrainingFailed("crashed", summary, advice, tuple(tail), log_file)


def stopped(checkpoints: Sequence[Path]) -> TrainingStopped:
    """The event for a run the user stopped (sd-scripts cannot save on a stop signal)."""
    kept = tuple(path for path in checkpoints if path.is_file())
    message = "Training was stopped. Nothing from this run was saved as a LoRA."
    if kept:
        message += (
            f" {len(kept)} intermediate checkpoint(s) from earlier epochs remain in the "
            "project's output folder."
        )
    return TrainingStopped(message, kept)
