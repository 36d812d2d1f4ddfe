"""The safety gate: word lists, the local judge and the code scan, applied per level.

What each level checks is decided by one table, :mod:`.safety_policy` (product.md §2);
this module only carries it out for one text at a time:

* **word lists** (:mod:`.safety_words`) on the idea, the rules, every LLM stage text and
  the final prompt, where the level has them. A hit at *kids* and *adult* blocks outright.
  At *youth* the judge decides, and it may clear the hit only by naming a harmless context
  ("SAFE: fairy tale"); the context is recorded in the run.
* **the judge** (the local safety model, role ``safety``): at *kids* it looks at every text
  and can only add blocks; at *youth* it looks at word-list hits, every stage text and the
  final prompt.
* **the code scan** (:mod:`.safety_code`) on generated code at every level but research.

*Fail closed* (kids, youth): no judge configured or reachable -> "The safety check is not
available"; an answer that is no verdict (prose, cut off at the token limit) -> "The safety
check could not judge this text — ask your teacher", with the model's answer kept in the
decision's detail.

The judge is looked up for every check (:data:`JudgeSource`), so a safety model chosen in
Settings applies to the next check at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..content.schema import MediaType, OutputConfig
from ..errors import AppError
from ..events import Stage
from ..store.record import SafetyDecision
from .prompts import SAFETY_OPTIONS, CheckKind, Message, build_safety_check, is_english
from .prompts import is_guard_model as _is_guard
from .providers import KeepAlive, LlmProvider
from .safety_code import scan_code
from .safety_policy import HitRule, LevelPolicy, TextCheck, policy_for
from .safety_reasons import (
    code_reason,
    content_reason,
    research_reason,
    unavailable_reason,
    unreadable_reason,
)
from .safety_verdict import ParsedVerdict, Verdict, parse_verdict
from .safety_words import Hit, load_lists

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JudgeReply:
    """What the safety model answered; ``truncated`` when it stopped at the token limit."""

    text: str
    truncated: bool = False


#: Sends messages to the local safety model and returns its answer.
Judge = Callable[[list[Message]], Awaitable[JudgeReply]]


@dataclass(frozen=True)
class BoundJudge:
    """A judge and the name of the model behind it (Llama Guard gets the bare text)."""

    judge: Judge
    model: str


#: Looks up the judge now (from the current settings); None when none is configured.
JudgeSource = Callable[[], BoundJudge | None]


class ListMatcher(Protocol):
    """The word lists as the gate uses them (:class:`~.safety_words.WordLists`)."""

    def match(self, text: str, level: str) -> list[Hit]:
        """Every hit of the ``level`` list in ``text``, ordered by position."""
        ...


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

    @property
    def cause(self) -> str:
        """What blocked: ``wordlist``, ``llm``, ``code_scan``, ``unavailable``, ``unreadable``."""
        for decision in reversed(self.decisions):
            if decision.result in ("unavailable", "unreadable"):
                return decision.result
            if decision.result == "block":
                return decision.check
        return ""


def provider_judge(
    provider: LlmProvider, model: str, *, keep_alive: KeepAlive | None = None
) -> Judge:
    """A :data:`Judge` that asks ``model`` through ``provider`` (deterministic options)."""

    async def judge(messages: list[Message]) -> JudgeReply:
        think = None if _is_guard(model) else False
        done = await provider.chat_once(
            model, messages, options=SAFETY_OPTIONS, keep_alive=keep_alive, think=think
        )
        return JudgeReply(done.text, truncated=done.done_reason == "length")

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
    return policy_for(level).translate or output.needs_english


def _describe(hits: list[Hit], text: str, where: str) -> str:
    parts = []
    for hit in hits:
        surface = text[hit.span[0] : hit.span[1]]
        hate = hit.category == "hate"  # a slur is never repeated, not even in the detail
        shown, term = ("***", "***") if hate else (surface, hit.term)
        parts.append(f"{shown!r} ({hit.category}, term {term!r}, {hit.span[0]}-{hit.span[1]})")
    return f"{where}: " + "; ".join(parts)


def _terms(text: str, hits: list[Hit]) -> tuple[str, ...]:
    """The matched words to name to the judge (a slur is never repeated, not even there)."""
    shown = [text[h.span[0] : h.span[1]] for h in hits if h.category != "hate"]
    if hits and not shown:
        shown = ["***"]
    return tuple(dict.fromkeys(shown))


@dataclass(frozen=True)
class _Text:
    """One text to check and how to talk about it."""

    stage: Stage
    text: str
    kind: CheckKind
    where: str  # idea, rules, prompt, code, interception, adaptation, translation
    context: str = ""


class SafetyGate:
    """Runs the checks of one session, each as the level's policy says.

    Args:
        judge: Asks the local safety model; None when no model is configured (kids and
            youth then fail closed whenever a model verdict is needed). Ignored when
            ``source`` is given.
        model: The safety model's name: Llama Guard models get the bare text.
        lists: Word lists (default: the built-in ones).
        research_confirmed: A teacher confirmed the research level for this session.
        source: Looks the judge up for every check (the Settings may change it).
    """

    def __init__(
        self,
        judge: Judge | None = None,
        *,
        model: str = "",
        lists: ListMatcher | None = None,
        research_confirmed: bool = False,
        source: JudgeSource | None = None,
    ) -> None:
        fixed = BoundJudge(judge, model) if judge is not None else None
        self._source: JudgeSource = source if source is not None else (lambda: fixed)
        self._lists: ListMatcher | None = lists
        self.research_confirmed = research_confirmed

    def confirm_research(self) -> None:
        """Record the teacher's confirmation of the research level for this session."""
        self.research_confirmed = True

    @property
    def lists(self) -> ListMatcher:
        """The word lists in use (loaded on first use)."""
        if self._lists is None:
            self._lists = load_lists()
        return self._lists

    # ------------------------------------------------------------------ public checks

    async def check_input(self, idea: str, rules: str, *, level: str, lang: str) -> SafetyOutcome:
        """Stage 1: the idea and the rules, each with the other as context."""
        policy = self._policy(level, lang)
        if policy is None:
            return SafetyOutcome(True)
        stage = Stage.input_safety
        decisions: list[SafetyDecision] = []
        for where, text, context in (("idea", idea, rules), ("rules", rules, idea)):
            if not text.strip():
                continue
            item = _Text(stage, text, "input", where, context)
            outcome = await self._check(item, policy, lang)
            decisions.extend(outcome.decisions)
            if not outcome.allowed:
                return SafetyOutcome(False, decisions, outcome.reason)
        return SafetyOutcome(True, decisions)

    async def check_edit(self, stage: Stage, text: str, *, level: str, lang: str) -> SafetyOutcome:
        """A stage text the student changed: checked like the student's own input."""
        policy = self._policy(level, lang)
        if policy is None:
            return SafetyOutcome(True)
        return await self._check(_Text(stage, text, "input", stage.value), policy, lang)

    async def check_stage_text(
        self, stage: Stage, text: str, *, level: str, lang: str, code: bool = False
    ) -> SafetyOutcome:
        """The text an LLM stage wrote (interception, adaptation, translation, code).

        Kids: before the child sees it; youth: before the next stage; other levels: never.
        """
        policy = self._policy(level, lang)
        if policy is None or policy.stage_texts is TextCheck.never:
            return SafetyOutcome(True)
        kind: CheckKind = "code" if code else "stage"
        return await self._check(_Text(stage, text, kind, stage.value), policy, lang)

    async def check_prompt(self, text: str, *, level: str, lang: str) -> SafetyOutcome:
        """Stage 4: the final prompt (word lists; the judge at kids and youth)."""
        policy = self._policy(level, lang)
        if policy is None:
            return SafetyOutcome(True)
        item = _Text(Stage.output_safety, text, "prompt", "prompt")
        return await self._check(item, policy, lang)

    async def check_code(
        self, code: str, framework: str, *, level: str, lang: str
    ) -> SafetyOutcome:
        """Stage 4 for code: the pattern scan, then word lists and the judge (kids, youth)."""
        policy = self._policy(level, lang)
        if policy is None:
            return SafetyOutcome(True)
        stage = Stage.output_safety
        decisions: list[SafetyDecision] = []
        if policy.code_scan:
            findings = scan_code(code)
            if findings:
                reason = code_reason(findings[0], lang=lang)
                detail = f"{framework or 'code'}: " + "; ".join(
                    f"line {f.line}:{f.column} {f.category}/{f.name}: {f.snippet}" for f in findings
                )
                decision = SafetyDecision(stage, "code_scan", "block", reason, detail)
                return SafetyOutcome(False, [decision], reason)
            decisions.append(SafetyDecision(stage, "code_scan", "pass", detail=framework))
        if not policy.final_prompt_judge:  # adult: identifiers like kill() are no content
            return SafetyOutcome(True, decisions)
        outcome = await self._check(_Text(stage, code, "code", "code"), policy, lang)
        return SafetyOutcome(outcome.allowed, decisions + outcome.decisions, outcome.reason)

    def bound_judge(self) -> BoundJudge | None:
        """The judge the next check would use (None when no safety model is set)."""
        return self._source()

    # ------------------------------------------------------------------ the policy

    def _policy(self, level: str, lang: str) -> LevelPolicy | None:
        """The level's policy; None at the confirmed research level (nothing is checked).

        An unknown level gets the kids policy (fail closed).

        Raises:
            SafetyError: the research level was not confirmed by a teacher.
        """
        policy = policy_for(level)
        if not policy.needs_confirmation:
            return policy
        if not self.research_confirmed:
            raise SafetyError(
                research_reason(lang),
                detail="level=research without research_confirmed",
                key="error.safety_research_unconfirmed",
            )
        return None

    def _judged(self, item: _Text, policy: LevelPolicy) -> bool:
        """Whether the judge looks at this text even without a word-list hit."""
        if policy.judge_always:
            return True
        if item.kind == "stage":
            return policy.stage_texts is not TextCheck.never
        if item.kind in ("prompt", "code"):
            return policy.final_prompt_judge
        return False

    def _lists_apply(self, item: _Text, policy: LevelPolicy) -> bool:
        if policy.hits is HitRule.none:
            return False
        if item.kind == "prompt":
            return policy.final_prompt_lists
        return True

    async def _check(self, item: _Text, policy: LevelPolicy, lang: str) -> SafetyOutcome:
        level = policy.level
        hits = self.lists.match(item.text, level) if self._lists_apply(item, policy) else []
        decisions: list[SafetyDecision] = []
        if hits:
            first = hits[0]
            term = item.text[first.span[0] : first.span[1]]
            reason = content_reason(
                first.category, level=level, lang=lang, where=item.where, term=term
            )
            detail = _describe(hits, item.text, item.where)
            decisions.append(SafetyDecision(item.stage, "wordlist", "block", reason, detail))
            if policy.hits is HitRule.blocks:
                return SafetyOutcome(False, decisions, reason)
            # youth: the judge decides, and only a named context clears the hit
            decision = await self._ask(item, policy, lang, hits=hits)
            decisions.append(decision)
            allowed = decision.result == "pass"
            return SafetyOutcome(allowed, decisions, "" if allowed else decision.reason)
        if self._lists_apply(item, policy):
            decisions.append(SafetyDecision(item.stage, "wordlist", "pass", detail=item.where))
        if not self._judged(item, policy):
            return SafetyOutcome(True, decisions)
        decision = await self._ask(item, policy, lang)
        decisions.append(decision)
        allowed = decision.result == "pass" or (
            decision.result in ("unavailable", "unreadable") and not policy.fail_closed
        )
        return SafetyOutcome(allowed, decisions, "" if allowed else decision.reason)

    async def _ask(
        self,
        item: _Text,
        policy: LevelPolicy,
        lang: str,
        *,
        hits: list[Hit] | None = None,
    ) -> SafetyDecision:
        """Ask the judge about ``item``; the decision says pass, block, unavailable, unreadable."""
        stage = item.stage
        bound = self._source()
        if bound is None:
            return SafetyDecision(
                stage, "llm", "unavailable", unavailable_reason(lang), "no safety model set"
            )
        guard = _is_guard(bound.model)
        messages = build_safety_check(
            item.text, level=policy.level, kind=item.kind, context=item.context,
            guard_model=guard, hit_terms=_terms(item.text, hits or []),
        )  # fmt: skip
        try:
            reply = await bound.judge(messages)
        except AppError as exc:
            log.info("Safety model unavailable (%s): %s", type(exc).__name__, exc)
            detail = f"{bound.model}: {type(exc).__name__}: {exc.user_message} {exc.detail}"
            return SafetyDecision(stage, "llm", "unavailable", unavailable_reason(lang), detail)
        parsed = parse_verdict(reply.text, truncated=reply.truncated)
        return self._decide(item, policy, lang, parsed, reply, bound.model, hits or [])

    def _decide(
        self,
        item: _Text,
        policy: LevelPolicy,
        lang: str,
        parsed: ParsedVerdict,
        reply: JudgeReply,
        model: str,
        hits: list[Hit],
    ) -> SafetyDecision:
        stage, level = item.stage, policy.level
        answer = f"{model} answered {reply.text.strip()[:400]!r}"
        if parsed.verdict is Verdict.unknown:
            why = parsed.unreadable.value if parsed.unreadable else "unreadable"
            log.info("Safety model gave no readable verdict (%s): %r", why, reply.text[:200])
            detail = f"no readable verdict ({why.replace('_', ' ')}); {answer}"
            return SafetyDecision(stage, "llm", "unreadable", unreadable_reason(lang), detail)
        first = hits[0] if hits else None
        term = item.text[first.span[0] : first.span[1]] if first else ""
        if parsed.verdict is Verdict.safe:
            if first is None:
                return SafetyDecision(stage, "llm", "pass", "", answer)
            if parsed.context:  # a classifier (Llama Guard) names none: the hit stands
                detail = f"context: {parsed.context}; {answer}"
                return SafetyDecision(stage, "llm", "pass", "", detail)
            reason = content_reason(
                first.category, level=level, lang=lang, where=item.where, term=term
            )
            detail = f"cleared without naming a context, so the word-list hit stands; {answer}"
            return SafetyDecision(stage, "llm", "block", reason, detail)
        category = first.category if first else parsed.category
        shown_term = term if first and parsed.category in ("", first.category) else ""
        reason = content_reason(category, level=level, lang=lang, where=item.where, term=shown_term)
        return SafetyDecision(stage, "llm", "block", reason, answer)
