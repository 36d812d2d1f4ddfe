"""The safety gate: word lists, LLM context checks, code scan and the per-level policy.

Policy (product.md §2):

============  ===============================================================  ===========
level         checks                                                           on failure
============  ===============================================================  ===========
kids, youth   input: word lists on idea *and* rules; a hit goes to the local   fail closed
              safety model, which judges the context. Final prompt: model
              verdict. Code: pattern scan + model verdict.
adult         input: word lists (small hard list) only, a hit blocks. Code:     -
              pattern scan. No model calls.
research      nothing is checked, but only after a teacher confirmed it for    SafetyError
              this session (``research_confirmed``).
============  ===============================================================  ===========

*Fail closed*: when the safety model cannot be reached, fails, or answers something
that is not a verdict, kids and youth runs are blocked with "The safety check is not
available, so this cannot run. Ask your teacher."

Every check leaves a :class:`SafetyDecision` for the run record. A word-list hit is
recorded as ``block`` even when the model then clears it in context; the outcome's
``allowed`` is the final word.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..content.schema import MediaType, OutputConfig
from ..errors import AppError
from ..events import Stage
from ..store.record import SafetyDecision
from .prompts import SAFETY_OPTIONS, CheckKind, Message, build_safety_check, is_english
from .prompts import is_guard_model as _is_guard
from .providers import KeepAlive, LlmProvider
from .safety_code import scan_code
from .safety_reasons import (
    GUARD_TO_CATEGORY,
    code_reason,
    content_reason,
    research_reason,
    unavailable_reason,
)
from .safety_verdict import Verdict, parse_verdict
from .safety_words import Hit, WordLists, load_lists

log = logging.getLogger(__name__)

#: Sends messages to the local safety model and returns its answer text.
Judge = Callable[[list[Message]], Awaitable[str]]

LLM_LEVELS = frozenset({"kids", "youth"})
LEVELS = frozenset({"kids", "youth", "adult", "research"})


class SafetyError(AppError):
    """A safety precondition is missing (the research level was not confirmed)."""


@dataclass(frozen=True)
class SafetyOutcome:
    """The result of one gate call: may the run go on, and why not."""

    allowed: bool
    decisions: list[SafetyDecision] = field(default_factory=list)
    reason: str = ""


def provider_judge(
    provider: LlmProvider, model: str, *, keep_alive: KeepAlive | None = None
) -> Judge:
    """A :data:`Judge` that asks ``model`` through ``provider`` (deterministic options)."""

    async def judge(messages: list[Message]) -> str:
        think = None if _is_guard(model) else False
        done = await provider.chat_once(
            model, messages, options=SAFETY_OPTIONS, keep_alive=keep_alive, think=think
        )
        return done.text

    return judge


def needs_translation(level: str, output: OutputConfig, text: str = "") -> bool:
    """Whether the final prompt must be translated to English before generation.

    Kids: always, unless ``text`` already reads as English. Youth, adult and research:
    only when the output's model needs English. Code outputs are never translated.
    """
    if output.media is MediaType.code:
        return False
    if text and is_english(text):
        return False
    return level == "kids" or output.needs_english


def _describe(hits: list[Hit], text: str, where: str) -> str:
    parts = []
    for hit in hits:
        surface = text[hit.span[0] : hit.span[1]]
        shown = "***" if hit.category == "hate" else surface
        parts.append(f"{shown!r} ({hit.category}, term {hit.term!r}, {hit.span[0]}-{hit.span[1]})")
    return f"{where}: " + "; ".join(parts)


class SafetyGate:
    """Runs the checks of one session.

    Args:
        judge: Asks the local safety model; None when no model is configured (kids and
            youth then fail closed whenever a model verdict is needed).
        model: The safety model's name: Llama Guard models get the bare text.
        lists: Word lists (default: the built-in ones).
        research_confirmed: A teacher confirmed the research level for this session.
    """

    def __init__(
        self,
        judge: Judge | None,
        *,
        model: str = "",
        lists: WordLists | None = None,
        research_confirmed: bool = False,
    ) -> None:
        self._judge = judge
        self._model = model
        self._lists = lists
        self.research_confirmed = research_confirmed

    def confirm_research(self) -> None:
        """Record the teacher's confirmation of the research level for this session."""
        self.research_confirmed = True

    @property
    def lists(self) -> WordLists:
        """The word lists in use (loaded on first use)."""
        if self._lists is None:
            self._lists = load_lists()
        return self._lists

    # ------------------------------------------------------------------ public checks

    async def check_input(self, idea: str, rules: str, *, level: str, lang: str) -> SafetyOutcome:
        """Stage 1: the idea and the rules (word lists, then the model on a hit)."""
        if self._skip(level, lang):
            return SafetyOutcome(True)
        stage = Stage.input_safety
        texts = {"idea": idea, "rules": rules}
        found = {where: self.lists.match(text, level) for where, text in texts.items()}
        flagged = [(where, hits) for where, hits in found.items() if hits]
        if not flagged:
            return SafetyOutcome(True, [SafetyDecision(stage, "wordlist", "pass")])
        where, hits = flagged[0]
        first = hits[0]
        term = texts[where][first.span[0] : first.span[1]]
        reason = content_reason(first.category, level=level, lang=lang, where=where, term=term)
        detail = " | ".join(_describe(h, texts[w], w) for w, h in flagged)
        decisions = [SafetyDecision(stage, "wordlist", "block", reason, detail)]
        if level not in LLM_LEVELS:
            return SafetyOutcome(False, decisions, reason)
        for where, hits in flagged:
            context = texts["rules" if where == "idea" else "idea"]
            surface = texts[where][hits[0].span[0] : hits[0].span[1]]
            decision = await self._ask_model(
                stage, texts[where], level=level, lang=lang, kind="input", where=where,
                context=context, category=hits[0].category, term=surface,
            )  # fmt: skip
            decisions.append(decision)
            if decision.result != "pass":
                return SafetyOutcome(False, decisions, decision.reason)
        return SafetyOutcome(True, decisions)

    async def check_prompt(self, text: str, *, level: str, lang: str) -> SafetyOutcome:
        """Stage 4: the model's verdict on the final prompt (kids and youth only)."""
        if self._skip(level, lang) or level not in LLM_LEVELS:
            return SafetyOutcome(True)
        decision = await self._ask_model(
            Stage.output_safety, text, level=level, lang=lang, kind="prompt", where="prompt"
        )
        allowed = decision.result == "pass"
        return SafetyOutcome(allowed, [decision], "" if allowed else decision.reason)

    async def check_code(
        self, code: str, framework: str, *, level: str, lang: str
    ) -> SafetyOutcome:
        """Stage 4 for code: the pattern scan (all levels), then the model (kids, youth)."""
        if self._skip(level, lang):
            return SafetyOutcome(True)
        stage = Stage.output_safety
        findings = scan_code(code)
        if findings:
            reason = code_reason(findings[0], lang=lang)
            detail = f"{framework or 'code'}: " + "; ".join(
                f"line {f.line}:{f.column} {f.category}/{f.name}: {f.snippet}" for f in findings
            )
            decision = SafetyDecision(stage, "code_scan", "block", reason, detail)
            return SafetyOutcome(False, [decision], reason)
        decisions = [SafetyDecision(stage, "code_scan", "pass", detail=framework)]
        if level not in LLM_LEVELS:
            return SafetyOutcome(True, decisions)
        decision = await self._ask_model(
            stage, code, level=level, lang=lang, kind="code", where="code"
        )
        decisions.append(decision)
        allowed = decision.result == "pass"
        return SafetyOutcome(allowed, decisions, "" if allowed else decision.reason)

    # ------------------------------------------------------------------ internals

    def _skip(self, level: str, lang: str) -> bool:
        """True at the confirmed research level; raises when it is not confirmed."""
        if level not in LEVELS:
            raise ValueError(f"unknown safety level {level!r}")
        if level != "research":
            return False
        if not self.research_confirmed:
            raise SafetyError(
                research_reason(lang), detail="level=research without research_confirmed"
            )
        return True

    async def _ask_model(
        self,
        stage: Stage,
        text: str,
        *,
        level: str,
        lang: str,
        kind: CheckKind,
        where: str,
        context: str = "",
        category: str = "",
        term: str = "",
    ) -> SafetyDecision:
        if self._judge is None:
            return SafetyDecision(
                stage, "llm", "unavailable", unavailable_reason(lang), "no safety model set"
            )
        messages = build_safety_check(
            text, level=level, kind=kind, context=context, guard_model=_is_guard(self._model)
        )
        try:
            answer = await self._judge(messages)
        except AppError as exc:
            log.info("Safety model unavailable (%s): %s", type(exc).__name__, exc)
            detail = f"{self._model}: {type(exc).__name__}: {exc.user_message} {exc.detail}"
            return SafetyDecision(stage, "llm", "unavailable", unavailable_reason(lang), detail)
        parsed = parse_verdict(answer)
        detail = f"{self._model}: {answer.strip()[:300]!r}"
        if parsed.verdict is Verdict.unknown:
            log.info("Safety model gave no readable verdict: %r", answer[:200])
            return SafetyDecision(stage, "llm", "unavailable", unavailable_reason(lang), detail)
        if parsed.verdict is Verdict.safe:
            return SafetyDecision(stage, "llm", "pass", "", detail)
        guessed = next((GUARD_TO_CATEGORY[c] for c in parsed.codes if c in GUARD_TO_CATEGORY), "")
        shown_term = term if category and (guessed in ("", category)) else ""
        reason = content_reason(
            category or guessed, level=level, lang=lang, where=where, term=shown_term
        )
        return SafetyDecision(stage, "llm", "block", reason, detail)
