"""What the runner does when a safety check blocks: the block's facts and the review log.

Kept apart from the runner so the stage flow stays readable: :class:`Block` is one block
(which stage, what text, why), :func:`log_block` writes it to the teacher's review log in
a worker thread and never lets a log failure hide the block itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from ..errors import AppError
from ..events import Stage
from ..store.record import SafetyDecision
from ..store.review_log import ReviewEntry, ReviewLog, now_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Block:
    """One block of a run.

    Attributes:
        stage: Where it blocked.
        text: What was judged (the idea and rules, a stage text, the final prompt, or for
            an image the prompt that made it).
        reason: The student-friendly reason.
        cause: ``wordlist``, ``llm``, ``code_scan``, ``vision``, ``unavailable`` or
            ``unreadable`` (see ``SafetyOutcome.cause``).
        decisions: The decisions of the check (their details go to the record and log).
    """

    stage: Stage
    text: str
    reason: str
    cause: str
    decisions: list[SafetyDecision] = field(default_factory=list)

    @property
    def detail(self) -> str:
        """The technical detail: what each decisive check found (the model's raw answer)."""
        parts = [f"{d.check} {d.result}: {d.detail}" for d in self.decisions if d.result != "pass"]
        return " | ".join(parts)

    def entry(self, level: str, profile: str, run_id: str) -> ReviewEntry:
        """The review-log entry of this block."""
        return ReviewEntry(
            time=now_iso(),
            level=level,
            stage=self.stage.value,
            text=self.text,
            reason=self.reason,
            profile=profile,
            cause=self.cause or "blocked",
            run_id=run_id,
            detail=self.detail,
        )


async def log_block(review_log: ReviewLog, entry: ReviewEntry) -> None:
    """Append ``entry`` in a worker thread; a failure is logged, the block stands anyway."""
    try:
        await asyncio.shield(asyncio.to_thread(review_log.add, entry))
    except AppError as exc:
        log.error("Review log not written: %s (%s)", exc.user_message, exc.detail)
