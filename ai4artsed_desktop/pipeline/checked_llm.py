"""One LLM stage with its answer checked: stream, clean, review, retry once.

The runner calls :func:`ask_checked` for each text stage. It streams the answer as
:class:`StageText` events, cleans it (echoed labels, preambles, code fences), reviews it
(:func:`.answer_checks.review`) and, when something is wrong, asks once more: with a
larger token limit for a cut-off answer, with a corrective message for an untranslated
text or for prose instead of code. A retry starts with a new :class:`StageStarted`, so
the screen shows the new answer from the start. The last item is a :class:`Checked`
saying what came out; the runner decides what a remaining problem means for the run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from ..events import Stage, StageStarted, StageText, TextDelta, TextDone
from .answer_checks import Problem, Review, StageKind, retry_request, review, with_stops
from .prompts import Message
from .providers import LlmProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    """The outcome of a checked stage.

    Attributes:
        text: the cleaned answer of the last attempt.
        problem: what is still wrong after the retry ("" when the answer is fine).
        options: the options of the last attempt (what the record stores).
        attempts: 1, or 2 after a retry; ``first_problem`` says why it was retried.
    """

    text: str
    problem: Problem = ""
    detail: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1
    first_problem: Problem = ""

    def record(self) -> dict[str, Any]:
        """What the run record keeps about the checks (stored with the stage's params)."""
        out: dict[str, Any] = {"attempts": self.attempts}
        if self.first_problem:
            out["retried_because"] = self.first_problem
        if self.problem:
            out["problem"] = self.problem
            out["detail"] = self.detail
        return out


async def ask_checked(
    provider: LlmProvider,
    model: str,
    messages: list[Message],
    options: Mapping[str, Any],
    *,
    run_id: str,
    stage: Stage,
    label: str,
    kind: StageKind,
    clean: Callable[[str], str],
    source: str = "",
    framework: str = "",
) -> AsyncGenerator[StageStarted | StageText | Checked, None]:
    """Ask, check, retry once; yields stream events, then one :class:`Checked`."""
    attempt_options = with_stops(options, kind)
    first: Review | None = None
    for attempt in (1, 2):
        if attempt == 2:
            yield StageStarted(run_id, stage, model=label)  # the screen starts over
        answer, truncated = "", False
        stream = provider.stream_chat(model, messages, options=attempt_options, think=False)
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta) and not event.thinking and event.text:
                    yield StageText(run_id, stage, event.text)
                elif isinstance(event, TextDone):
                    answer, truncated = event.text, event.truncated
        found = review(kind, clean(answer), truncated=truncated, source=source, framework=framework)
        if found.ok or attempt == 2:
            yield Checked(
                found.text,
                found.problem,
                found.detail,
                attempt_options,
                attempt,
                first.problem if first else "",
            )
            return
        first = found
        log.info("%s of run %s: %s (%s); asking once more", stage.value, run_id,
                 found.problem, found.detail)  # fmt: skip
        messages, attempt_options = retry_request(
            found, messages, attempt_options, answer, framework=framework
        )
