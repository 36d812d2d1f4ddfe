r"""Robust parsing of a safety model's answer into SAFE / UNSAFE / unknown.

Small local models rarely answer with the one word they were asked for. Understood forms:

* a verdict word anywhere in the first line, in any case, with punctuation or Markdown
  around it (``SAFE``, ``Safe.``, ``**UNSAFE**: reason``, ``Verdict: unsafe``, ``The text
  is safe.``); a negation right before it counts (``not safe`` is unsafe);
* German answers (``SICHER``/``UNSICHER``, ``unbedenklich``/``bedenklich``, ``nicht
  sicher``); ``sicher`` alone counts only as the first word, because it also means "sure";
* Llama Guard's ``safe`` / ``unsafe\nS1,S9`` (codes become readable reasons);
* JSON, optionally in a Markdown code fence: ``{"safe": false, "category": "violence"}``,
  ``{"verdict": "unsafe"}``, ``{"safe": true, "context": "fairy tale"}``.

A ``<think>...</think>`` block before the answer is removed. Anything else counts as
:attr:`Verdict.unknown` ("could not judge"), and so does an answer that names both
verdicts on its first line, and any answer that was cut off at the token limit (Ollama's
``done_reason: "length"``) -- a cut-off verdict may have lost the words that mattered.
The policy decides what unknown means (kids and youth block).

For a SAFE verdict the words after it are the *context* the model names ("SAFE: fairy
tale"); youth needs one to clear a word-list hit. For UNSAFE they are the reason, and
:func:`category_of` maps it to one of our categories.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any


class Verdict(enum.Enum):
    """The model's judgement."""

    safe = "safe"
    unsafe = "unsafe"
    unknown = "unknown"


class Unreadable(enum.Enum):
    """Why an answer is not a verdict."""

    empty = "empty"
    cut_off = "cut_off"
    prose = "prose"
    contradictory = "contradictory"
    unfinished_think = "unfinished_think"


@dataclass(frozen=True)
class ParsedVerdict:
    """A verdict plus what the model said about it.

    Attributes:
        verdict: SAFE, UNSAFE or unknown.
        reason: The words after the verdict (UNSAFE: why; SAFE: the context), at most
            300 characters; Llama Guard codes are spelled out.
        codes: Llama Guard hazard codes (``S1``...) of an UNSAFE answer.
        category: Our category (``violence``, ``sexual``, ``self_harm``, ``drugs``,
            ``hate``) when the answer names one, else "".
        context: For SAFE: the context the model names ("fairy tale"), else "".
        unreadable: Why the answer is no verdict (None when it is one).
    """

    verdict: Verdict
    reason: str = ""
    codes: tuple[str, ...] = ()
    category: str = ""
    context: str = ""
    unreadable: Unreadable | None = None


#: Llama Guard 3 hazard categories (MLCommons taxonomy).
GUARD_CATEGORIES = {
    "S1": "violent crimes",
    "S2": "non-violent crimes",
    "S3": "sex-related crimes",
    "S4": "child sexual exploitation",
    "S5": "defamation",
    "S6": "specialized advice",
    "S7": "privacy",
    "S8": "intellectual property",
    "S9": "indiscriminate weapons",
    "S10": "hate",
    "S11": "suicide and self-harm",
    "S12": "sexual content",
    "S13": "elections",
    "S14": "code interpreter abuse",
}

#: Llama Guard hazard codes -> our categories (others stay unnamed).
GUARD_TO_CATEGORY = {
    "S1": "violence",
    "S9": "violence",
    "S3": "sexual",
    "S4": "sexual",
    "S12": "sexual",
    "S10": "hate",
    "S11": "self_harm",
}

#: Words in a reason or a JSON category -> our category (checked as word prefixes).
_CATEGORY_WORDS = (
    ("violence", ("violen", "weapon", "gore", "blood", "kill", "murder", "gewalt", "waffe",
                  "blut", "töt", "mord", "shoot", "schieß", "schiess", "war", "krieg",
                  "tortur", "folter")),
    ("sexual", ("sex", "nud", "nackt", "porn", "erot")),
    ("self_harm", ("self", "suicid", "selbst", "suizid", "ritz")),
    ("drugs", ("drug", "droge", "alcohol", "alkohol", "smok", "rauch", "cocain", "kokain")),
    ("hate", ("hate", "hass", "slur", "racis", "rassis", "extrem", "nazi", "insult",
              "beleidig")),
)  # fmt: skip

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)
_LABEL = re.compile(
    r"^(verdict|answer|result|urteil|antwort|ergebnis|bewertung|rating|einschätzung)"
    r"\s*[:=-]\s*",
    re.I,
)
_SAFE_WORDS = frozenset({"safe", "unbedenklich", "harmlos"})
_UNSAFE_WORDS = frozenset({"unsafe", "unsicher", "bedenklich", "ungeeignet"})
#: Only a verdict as the first word: "sicher" also means "sure".
_LEAD_ONLY = {"sicher": Verdict.safe}
_NEGATIONS = frozenset({"not", "nicht", "kein", "keine", "never", "nie", "isn't"})
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß']+")
_CODES = re.compile(r"\bS(\d{1,2})\b")


def strip_think(text: str) -> str | None:
    """Remove ``<think>`` blocks; None when a block was opened but never closed."""
    cleaned = _THINK.sub("", text)
    if "<think>" in cleaned.lower():
        return None
    return cleaned.replace("</think>", "").strip()


def parse_verdict(raw: str, *, truncated: bool = False) -> ParsedVerdict:
    """Parse a model's answer; never raises.

    Args:
        raw: The answer text.
        truncated: The answer stopped at the token limit (``done_reason == "length"``):
            it is unreadable whatever it says.
    """
    if truncated:
        return _unknown(Unreadable.cut_off, raw)
    text = strip_think(raw)
    if text is None:
        return _unknown(Unreadable.unfinished_think, raw)
    if not text:
        return _unknown(Unreadable.empty, raw)
    fence = _FENCE.match(text)
    if fence:
        text = fence.group(1).strip()
    if text.startswith(("{", "[")):
        return _parse_json(text)
    return _parse_plain(text)


def category_of(text: str) -> str:
    """Our category named in ``text`` ("violence", ...), or "" when none is recognisable."""
    words = [w.lower() for w in _WORD.findall(text)]
    for category, stems in _CATEGORY_WORDS:
        if any(w.startswith(stem) for w in words for stem in stems):
            return category
    return ""


def _unknown(why: Unreadable, text: str) -> ParsedVerdict:
    return ParsedVerdict(Verdict.unknown, reason=text.strip()[:200], unreadable=why)


def _first_line_verdict(line: str) -> Verdict | None:
    """The verdict the first line names, None for none, unknown for contradicting ones."""
    words = [w.lower().strip("'") for w in _WORD.findall(line)]
    found: set[Verdict] = set()
    for i, word in enumerate(words):
        if word in _SAFE_WORDS or word in _UNSAFE_WORDS or (i == 0 and word in _LEAD_ONLY):
            verdict = Verdict.unsafe if word in _UNSAFE_WORDS else Verdict.safe
            negated = i > 0 and words[i - 1] in _NEGATIONS
            if negated and verdict is Verdict.unsafe:
                return Verdict.unknown  # "not unsafe": too twisted to clear anything
            found.add(Verdict.unsafe if negated else verdict)
        elif word == "sicher" and i > 0 and words[i - 1] in _NEGATIONS:
            found.add(Verdict.unsafe)  # "nicht sicher"
    if len(found) > 1:
        return Verdict.unknown
    return found.pop() if found else None


def _parse_plain(text: str) -> ParsedVerdict:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = _LABEL.sub("", lines[0].strip("*_#> \t"))
    verdict = _first_line_verdict(first)
    if verdict is None:
        return _unknown(Unreadable.prose, text)
    if verdict is Verdict.unknown:
        return _unknown(Unreadable.contradictory, text)
    after = _after_verdict(first)
    reason = " ".join(p for p in (after, *lines[1:]) if p).strip()
    codes = tuple(f"S{n}" for n in _CODES.findall(reason)) if verdict is Verdict.unsafe else ()
    category = ""
    if codes and all(code in GUARD_CATEGORIES for code in codes):
        reason = ", ".join(GUARD_CATEGORIES[code] for code in codes)
        category = next((GUARD_TO_CATEGORY[c] for c in codes if c in GUARD_TO_CATEGORY), "")
    if verdict is Verdict.safe:
        return ParsedVerdict(verdict, reason=reason[:300], context=_context(after))
    return ParsedVerdict(
        verdict, reason=reason[:300], codes=codes, category=category or category_of(reason)
    )


_VERDICT_AT = re.compile(
    r"\b(unsafe|safe|unsicher|sicher|unbedenklich|bedenklich|harmlos|ungeeignet)\b", re.I
)


def _after_verdict(line: str) -> str:
    """The words after the last verdict word of the first line."""
    matches = list(_VERDICT_AT.finditer(line))
    if not matches:
        return ""
    return line[matches[-1].end() :].strip(" \t:.,;!-–—*_()\"'“”„")


_CONTEXT_LEAD = re.compile(
    r"^(context|kontext|zusammenhang|because|weil|da|as|als|im|in|in a|in the|it is|es ist|"
    r"the text is|der text ist)\s*[:=-]?\s*",
    re.I,
)


def _context(after: str) -> str:
    """The context a SAFE answer names on its first line ("" when it names none)."""
    text = after
    for _ in range(3):
        text = _CONTEXT_LEAD.sub("", text).strip(" \t:.,;!-–—*_()\"'“”„")
    return text[:120] if _WORD.search(text) else ""


def _parse_json(text: str) -> ParsedVerdict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _unknown(Unreadable.prose, text)
    if not isinstance(data, dict):
        return _unknown(Unreadable.prose, text)
    verdict = _json_verdict(data)
    if verdict is Verdict.unknown:
        return _unknown(Unreadable.prose, text)
    reason = _first_text(data, ("reason", "explanation", "begründung", "grund", "category"))
    if verdict is Verdict.safe:
        context = _first_text(data, ("context", "kontext", "zusammenhang", "reason"))
        return ParsedVerdict(verdict, reason=reason[:300], context=context[:120])
    named = _first_text(data, ("category", "kategorie", "categories"))
    category = category_of(named) or category_of(reason)
    return ParsedVerdict(verdict, reason=reason[:300], category=category)


def _json_verdict(data: dict[str, Any]) -> Verdict:
    for key in ("safe", "is_safe", "sicher"):
        value = data.get(key)
        if isinstance(value, bool):
            return Verdict.safe if value else Verdict.unsafe
    for key in ("unsafe", "flagged", "blocked"):
        value = data.get(key)
        if isinstance(value, bool):
            return Verdict.unsafe if value else Verdict.safe
    for key in ("verdict", "result", "label", "classification", "rating", "urteil"):
        value = data.get(key)
        if isinstance(value, str):
            found = _first_line_verdict(value.strip(" .!*"))
            return found if found is not None else Verdict.unknown
    return Verdict.unknown


def _first_text(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return ", ".join(value)
    return ""
