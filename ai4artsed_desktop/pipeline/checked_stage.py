"""The runner's decisions about a checked LLM answer (see :mod:`.checked_llm`).

* a text still cut off after the retry goes on, marked "cut off" for the student, who
  can read it, edit it or try again;
* a translation that is still not English stops the run with "could not translate" (it
  is never passed on or badged "translated");
* prose or broken code instead of a p5.js / Tone.js program stops the run with a clear
  message instead of saving a ``sketch.js`` that cannot run.
"""

from __future__ import annotations

import zlib

from ..content.schema import OutputConfig
from ..errors import AppError
from ..events import Stage
from . import generation
from .answer_checks import StageKind
from .checked_llm import Checked

#: The badge of a stage whose answer was still cut off after the retry.
CUT_OFF = "cut off"
_CODE_NAMES = {"p5": "p5.js sketch", "tone": "Tone.js piece"}


def stage_kind(stage: Stage, output: OutputConfig) -> StageKind:
    """How a stage's answer is checked: as code, as a translation or as plain text."""
    if stage is Stage.translation:
        return "translation"
    if stage is Stage.adaptation and generation.is_code(output):
        return "code"
    return "text"


def checked_badge(checked: Checked, badge: str) -> str:
    """The stage's badge: "cut off" wins; nothing unusable is ever badged."""
    if checked.problem == "cut_off":
        return CUT_OFF
    return "" if checked.problem else badge


def refuse_unusable(checked: Checked, model: str, output: OutputConfig) -> None:
    """Raise for an answer that must not go on (untranslated text, no working code).

    Raises:
        AppError: with a message for the student and the check's finding as detail.
    """
    detail = f"{model}, {checked.attempts} attempt(s): {checked.detail}"
    if checked.problem == "untranslated":
        raise AppError(
            "Could not translate: the language model answered in German again instead of "
            "English. Try again, or write the prompt in English yourself and go on.",
            detail=detail,
            key="error.untranslated",
        )
    if checked.problem == "not_code":
        what = _CODE_NAMES.get(output.framework, "program")
        raise AppError(
            f"The language model did not write a working {what} (it answered with text "
            "instead of code, twice). Try again, or ask your teacher for a bigger code model.",
            detail=detail,
            key=f"error.no_code_{output.framework}" if output.framework in _CODE_NAMES else "",
        )


def llm_seed(stage: str, locked: int | None, *inputs: str) -> int:
    """The LLM seed of a stage: the locked seed, else one derived from the run's inputs.

    The same idea, rules, config, output, language and level give the same seed, so a
    model that honours seeds (Ollama, llama.cpp) repeats an unchanged run.
    """
    if locked is not None:
        return int(locked) & 0x7FFFFFFF
    key = "\x1f".join((stage, *inputs)).encode("utf-8")
    return zlib.crc32(key) & 0x7FFFFFFF
