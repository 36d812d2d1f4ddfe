"""What a real (often small) model's answer must pass before the next stage uses it.

Seen with SmolLM2-135M through llama.cpp and with small Ollama models:

* answers cut off by the token limit (``done_reason``/``finish_reason`` ``length``);
* a "translation" that is still German;
* prose ("Here's a possible solution…") where p5.js or Tone.js code was asked for;
* echoed prompt labels ("Text:") and chatty preambles in front of the real answer.

:func:`review` says what is wrong with one answer; :func:`retry_request` builds the one
retry (a larger token limit for a cut-off answer, a corrective message otherwise). The
runner decides what happens after the retry. Pure functions, no I/O.

Language check: the pipeline only translates German into English, so the dependency-free
German/English function-word heuristic of :mod:`.prompts` (``language_scores``) is
enough; a general language-identification library would add tens of megabytes of models
for two languages we can tell apart by their most frequent words.

Code check: :mod:`esprima` (pure Python, ECMAScript 2017) parses the code; node is not
installed on school PCs. Newer syntax it does not know (``?.``, ``??``, ``??=``,
``||=``, ``&&=``) is rewritten to an equivalent-for-parsing older form first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import esprima

from .prompts import Message, language_scores

Problem = Literal["", "cut_off", "untranslated", "not_code"]
StageKind = Literal["text", "translation", "code"]

#: A retry after a cut-off answer gets this many times the tokens (at most MAX_TOKENS).
LIMIT_FACTOR = 2
MAX_TOKENS = 6144

_LABEL = re.compile(
    r"^\s*\**\s*(?:text|idea|idee|rules|regeln|prompt|answer|antwort|output|ausgabe|"
    r"translation|übersetzung|english|englisch|result|ergebnis|response)\s*\**\s*:\s*\**[ \t]*",
    re.IGNORECASE,
)
#: "Here's a possible solution:", "Hier ist die Übersetzung:", "Sure! Here is the code."
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|alright|absolutely|gerne|klar|natürlich)\b"
    r"[!,.]?\s*)?(?:here(?:'s|’s| is| are)|below is|hier (?:ist|sind|kommt)|im folgenden)\b"
    r"[^\n]{0,160}$",
    re.IGNORECASE,
)
_PREAMBLE_TOPIC = re.compile(
    r"solution|answer|code|sketch|program|script|translation|version|prompt|text|result|"
    r"lösung|antwort|skizze|programm|übersetzung|fassung|ergebnis",
    re.IGNORECASE,
)
_INTERJECTION = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|alright|absolutely|gerne|klar|natürlich)"
    r"[!,.]*\s*$",
    re.IGNORECASE,
)
#: Stop sequences: the labels of our own prompts. A model that writes one of them after
#: its answer is inventing the next turn of the conversation. Not for translations (a
#: small model often starts with an echoed "Text:" line, which :func:`strip_echoes`
#: removes; a stop there would leave nothing) and not for code (it may contain anything).
STOPS: dict[StageKind, tuple[str, ...]] = {
    "text": ("\n\nIdea:", "\n\nIdee:", "\n\nRules:", "\n\nRegeln:"),
    "translation": (),
    "code": (),
}


@dataclass(frozen=True)
class Review:
    """What :func:`review` found: the cleaned text and a problem ("" when fine)."""

    text: str
    problem: Problem = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problem


# ------------------------------------------------------------------ cleaning


def strip_echoes(answer: str) -> str:
    """Drop preamble lines ("Here's a possible solution:") and a leading echoed label.

    Only the start of the answer is touched, and a line is only dropped when text follows
    it, so an answer that *is* one short sentence stays as it is.
    """
    lines = answer.strip().splitlines()
    while len(lines) > 1 and _is_preamble(lines[0]):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    for _ in range(2):  # "Translation: Text: ..." happens
        match = _LABEL.match(text)
        if not match or not text[match.end() :].strip():
            break
        text = text[match.end() :].strip()
    return text


def _is_preamble(line: str) -> bool:
    """An empty line, "Sure!", or "Here is the code/…" ending in a colon or naming it."""
    stripped = line.strip().strip("*").strip()
    if not stripped or _INTERJECTION.match(stripped):
        return True
    if not _PREAMBLE.match(stripped):
        return False
    return stripped.endswith((":", "…", "...")) or bool(_PREAMBLE_TOPIC.search(stripped))


# ------------------------------------------------------------------ checks


def untranslated_reason(source: str, text: str) -> str:
    """Why ``text`` is not an English translation of ``source`` ("" when it is)."""
    if not text.strip():
        return "the translation is empty"
    de, en = language_scores(text)
    if de > en:
        return f"the text still reads as German ({de} German vs {en} English signals)"
    if _normalised(text) == _normalised(source) and language_scores(source)[0] > 0:
        return "the text came back unchanged"
    return ""


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def _modern_syntax_for_parsing(code: str) -> str:
    """Rewrite ES2020/2021 operators esprima (ES2017) does not know, keeping the shape."""
    code = re.sub(r"(\?\?|\|\||&&)=", "=", code)
    code = code.replace("??", "||")
    code = re.sub(r"\?\.(?=[\[(])", "", code)
    return re.sub(r"\?\.(?!\d)", ".", code)


def _names(node: Any) -> Iterator[tuple[str, str]]:
    """(kind, name) of declarations and identifiers anywhere in an esprima tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not hasattr(item, "type"):
            continue
        kind = item.type
        if kind == "FunctionDeclaration" and item.id is not None:
            yield "function", item.id.name
        elif kind == "VariableDeclarator" and getattr(item.id, "type", "") == "Identifier":
            yield "function", item.id.name  # const setup = () => {...}
        elif kind == "AssignmentExpression" and getattr(item.left, "type", "") == "Identifier":
            yield "function", item.left.name
        elif kind == "Identifier":
            yield "identifier", item.name
        for value in vars(item).values():
            if isinstance(value, list) or hasattr(value, "type"):
                stack.append(value)


def code_problem(code: str, framework: str) -> str:
    """Why ``code`` is not a usable p5.js / Tone.js program ("" when it is)."""
    if not code.strip():
        return "there is no code"
    try:
        tree = esprima.parseScript(_modern_syntax_for_parsing(code), {"tolerant": False})
    except esprima.Error as exc:
        return f"it is not valid JavaScript ({exc})"
    names = set(_names(tree))
    declared = {name for kind, name in names if kind == "function"}
    if framework == "p5":
        missing = [n for n in ("setup", "draw") if n not in declared]
        if missing:
            return f"a p5.js sketch needs {' and '.join(missing)}() and this code has none"
    if framework == "tone" and ("identifier", "Tone") not in names:
        return "a Tone.js piece uses Tone, and this code never does"
    return ""


def review(kind: StageKind, text: str, *, truncated: bool, source: str = "",
           framework: str = "") -> Review:  # fmt: skip
    """Check one cleaned answer of a stage of ``kind``.

    The order matters: a cut-off answer is retried with room first, because it fails the
    other checks for that reason alone.
    """
    if truncated:
        return Review(text, "cut_off", "the answer reached the token limit")
    if kind == "translation":
        reason = untranslated_reason(source, text)
        if reason:
            return Review(text, "untranslated", reason)
    if kind == "code":
        reason = code_problem(text, framework)
        if reason:
            return Review(text, "not_code", reason)
    return Review(text)


# ------------------------------------------------------------------ retry

_CODE_NAMES = {"p5": "p5.js", "tone": "Tone.js"}
_CORRECTION = {
    "untranslated": (
        "That was not English. Translate the text into English now. Answer only with the "
        "English translation, nothing else."
    ),
    "not_code": (
        "That was not a working {name} program ({reason}). Answer only with the complete "
        "JavaScript code for {name}{needs}, no explanations and no Markdown."
    ),
}


def larger_limit(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with a larger ``num_predict`` for the retry of a cut-off answer."""
    out = dict(options)
    current = int(out.get("num_predict") or 0)
    out["num_predict"] = min(MAX_TOKENS, max(current * LIMIT_FACTOR, current + 256))
    return out


def retry_request(
    review_: Review,
    messages: list[Message],
    options: Mapping[str, Any],
    answer: str,
    *,
    framework: str = "",
) -> tuple[list[Message], dict[str, Any]]:
    """The messages and options of the one retry after ``review_`` found a problem."""
    if review_.problem == "cut_off":
        return list(messages), larger_limit(options)
    name = _CODE_NAMES.get(framework, "JavaScript")
    needs = {"p5": " with setup() and draw()", "tone": " using Tone"}.get(framework, "")
    correction = _CORRECTION[review_.problem].format(name=name, reason=review_.detail, needs=needs)
    retry = [*messages, Message("assistant", answer), Message("user", correction)]
    return retry, dict(options)


def with_stops(options: Mapping[str, Any], kind: StageKind) -> dict[str, Any]:
    """``options`` with the stop sequences for ``kind`` (none for code)."""
    out = dict(options)
    if STOPS[kind]:
        out["stop"] = list(STOPS[kind])
    return out


__all__ = [
    "Review",
    "code_problem",
    "larger_limit",
    "retry_request",
    "review",
    "strip_echoes",
    "untranslated_reason",
    "with_stops",
]
