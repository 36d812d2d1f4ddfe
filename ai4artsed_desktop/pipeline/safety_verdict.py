r"""Robust parsing of a safety model's answer into SAFE / UNSAFE / unknown.

Understood forms: a plain verdict word in any case with punctuation or Markdown around
it (``SAFE``, ``Safe.``, ``**UNSAFE**: reason``, ``Verdict: unsafe``), German words
(``SICHER``/``UNSICHER``, ``unbedenklich``/``bedenklich``), Llama Guard's ``safe`` /
``unsafe\nS1,S9``, and JSON (``{"safe": false, "reason": ...}``,
``{"verdict": "unsafe"}``), optionally in a Markdown code fence. A ``<think>...</think>``
block before the answer is removed. Anything else, or an answer that names both
verdicts on its first line, is :attr:`Verdict.unknown`: the policy decides what that
means (kids/youth block).
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


@dataclass(frozen=True)
class ParsedVerdict:
    """A verdict plus the model's reason and Llama Guard category codes (if any)."""

    verdict: Verdict
    reason: str = ""
    codes: tuple[str, ...] = ()


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

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)
_LABEL = re.compile(
    r"^(verdict|answer|result|urteil|antwort|ergebnis|bewertung|rating)\s*[:=-]\s*", re.I
)
_SAFE_WORDS = {"safe": Verdict.safe, "sicher": Verdict.safe, "unbedenklich": Verdict.safe}
_UNSAFE_WORDS = {"unsafe": Verdict.unsafe, "unsicher": Verdict.unsafe, "bedenklich": Verdict.unsafe}
_ALL_WORDS = {**_SAFE_WORDS, **_UNSAFE_WORDS}
_LEAD = re.compile(r"^[\W_]*([A-Za-zÄÖÜäöüß]+)(.*)$", re.DOTALL)
_CODES = re.compile(r"\bS(\d{1,2})\b")
_WORDS = re.compile(r"[A-Za-zÄÖÜäöüß]+")


def strip_think(text: str) -> str | None:
    """Remove ``<think>`` blocks; None when a block was opened but never closed."""
    cleaned = _THINK.sub("", text)
    if "<think>" in cleaned.lower():
        return None
    return cleaned.replace("</think>", "").strip()


def parse_verdict(raw: str) -> ParsedVerdict:
    """Parse a model's answer; never raises."""
    text = strip_think(raw)
    if not text:
        return ParsedVerdict(Verdict.unknown, reason="empty answer")
    fence = _FENCE.match(text)
    if fence:
        text = fence.group(1).strip()
    if text.startswith(("{", "[")):
        return _parse_json(text)
    return _parse_plain(text)


def _parse_plain(text: str) -> ParsedVerdict:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = _LABEL.sub("", lines[0].strip("*_#> \t"))
    lead = _LEAD.match(first)
    if lead is None:
        return ParsedVerdict(Verdict.unknown, reason=text[:200])
    verdict = _ALL_WORDS.get(lead.group(1).lower())
    if verdict is None:
        return ParsedVerdict(Verdict.unknown, reason=text[:200])
    rest_words = {w.lower() for w in _WORDS.findall(lead.group(2))}
    opposite = _UNSAFE_WORDS if verdict is Verdict.safe else _SAFE_WORDS
    if rest_words & opposite.keys():
        return ParsedVerdict(Verdict.unknown, reason=text[:200])
    reason_parts = [lead.group(2).strip(" \t:.-*_"), *lines[1:]]
    reason = " ".join(p for p in reason_parts if p).strip()
    codes = tuple(f"S{n}" for n in _CODES.findall(reason)) if verdict is Verdict.unsafe else ()
    if codes and all(code in GUARD_CATEGORIES for code in codes):
        reason = ", ".join(GUARD_CATEGORIES[code] for code in codes)
    return ParsedVerdict(verdict, reason=reason[:300], codes=codes)


def _parse_json(text: str) -> ParsedVerdict:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ParsedVerdict(Verdict.unknown, reason=text[:200])
    if not isinstance(data, dict):
        return ParsedVerdict(Verdict.unknown, reason=text[:200])
    reason = _first_text(data, ("reason", "explanation", "begründung", "grund", "category"))
    verdict = _json_verdict(data)
    return ParsedVerdict(verdict, reason=reason[:300])


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
            return _ALL_WORDS.get(value.strip(" .!*").lower(), Verdict.unknown)
    return Verdict.unknown


def _first_text(data: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
