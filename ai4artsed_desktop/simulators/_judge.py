r"""The simulator's safety judge: it blocks what the word lists and a real judge would.

The demo must tell the truth about safety, so a teacher rehearsing sees what children
will see. The simulated judge therefore

* reads the audience from the system prompt the app sends (children 8-12 -> kids lists,
  teenagers -> youth lists, else adult),
* runs the app's own word lists on the judged text, plus its own check for harmful
  *concepts* (:data:`CONCEPTS`: shooting or stabbing people, blood and gore, nudity,
  self-harm, hard drugs, hate symbols) and the old test triggers (:data:`TRIGGER_WORDS`),
* when the app asks it to name a context for a block-list word (youth), clears the word
  only when the text has one (fairy tale, history, sport, cooking) and no harmful concept,
  and answers ``SAFE: fairy tale``,
* answers like the model it plays: Llama Guard ``safe`` / ``unsafe\nS1``, other models
  ``SAFE`` / ``UNSAFE: violence, ...``.

For a request with images (the media check) the judged text is what the "vision model
sees": ``FAKE_OLLAMA_VISION_SEES`` if set, else a harmless description.

``FAKE_OLLAMA_JUDGE`` makes the judge answer the way small real models often do:
``prose`` (a friendly paragraph without any verdict word) or ``cutoff`` (a long ramble
that runs into the token limit, so Ollama reports ``done_reason: "length"``). The default,
``verdict``, answers properly.
"""

from __future__ import annotations

import functools
import os
import re

from ..pipeline.safety_words import WordLists, load_lists

#: Words that make the simulated safety check answer UNSAFE (lower case, whole words).
TRIGGER_WORDS = frozenset((
    "bomb", "bombe", "bomben", "waffe", "waffen", "weapon", "weapons", "gun", "kill", "töten"
))  # fmt: skip

#: Harmful concepts as word-start stems (lower case), per category.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "violence": (
        "erschieß", "erschiess", "erschoss", "erstech", "ermord", "tötet", "umbring",
        "abschlacht", "gemetzel", "massaker", "enthaupt", "gehäutet", "häuten", "folter",
        "leiche", "killing", "killed", "kills", "murder", "shoots", "shooting people",
        "stabbed", "stabs", "slaughter", "behead", "skinned", "corpse", "massacre",
        "torture", "blood everywhere", "überall ist blut", "blutüberströmt", "bloody",
        "amoklauf", "gore",
    ),
    "sexual": ("nackt", "naked", "nude", "porn", "sexy", "sex "),
    "self_harm": ("suizid", "suicide", "selbstmord", "ritzen", "pulsader", "self-harm",
                  "kill myself", "mich umbringen"),
    "drugs": ("kokain", "cocaine", "heroin", "crystal meth", "koks"),
    "hate": ("hakenkreuz", "swastika", "heil hitler", "sieg heil"),
}  # fmt: skip

#: Contexts that let a block-list word pass at youth (the judge names them).
CONTEXTS: dict[str, tuple[str, ...]] = {
    "fairy tale": ("märchen", "fairy", "ritter", "knight", "drache", "dragon", "sage",
                   "legend", "zauber", "magic", "prinzessin", "princess"),
    "history": ("geschichte", "history", "historisch", "historical", "mittelalter",
                "medieval", "museum", "römer", "roman"),
    "sport": ("sport", "fechten", "fencing", "bogenschießen", "archery", "olymp"),
    "cooking": ("kochen", "cooking", "küche", "kitchen", "rezept", "recipe", "gemüse"),
}  # fmt: skip

_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
_CATEGORY_CODES = {"violence": "S1", "sexual": "S12", "self_harm": "S11", "drugs": "S2",
                   "hate": "S10"}  # fmt: skip

PROSE = (
    "This is an interesting text for an art project. It describes a scene with some "
    "strong images, and the students seem to have put real thought into it. I would "
    "encourage the teacher to talk about it with the class."
)


@functools.lru_cache(maxsize=1)
def _lists() -> WordLists:
    return load_lists()


def audience(system: str) -> str:
    """The level the app's judge prompt names (``kids``, ``youth`` or ``adult``)."""
    low = system.lower()
    if "children aged 8 to 12" in low or "8 to 12" in low:
        return "kids"
    if "teenagers" in low or "13 to 17" in low:
        return "youth"
    return "adult"


def concept(text: str) -> str:
    """The category of a harmful concept in ``text``, or ""."""
    low = " ".join(text.lower().split())
    words = _WORD.findall(low)
    for category, stems in CONCEPTS.items():
        for stem in stems:
            if " " in stem.strip():
                if stem.strip() in low:
                    return category
            elif any(w.startswith(stem.strip()) for w in words):
                return category
    if any(w in TRIGGER_WORDS for w in words):
        return "violence"
    return ""


def context_of(text: str) -> str:
    """The harmless context ``text`` has (``fairy tale``, ...), or ""."""
    words = _WORD.findall(text.lower())
    for name, stems in CONTEXTS.items():
        if any(w.startswith(stem) for w in words for stem in stems):
            return name
    return ""


def verdict(text: str, system: str, *, context_text: str = "") -> tuple[bool, str, str]:
    """``(safe, category, context)`` for the judged ``text``."""
    level = audience(system)
    harmful = concept(text)
    if harmful:
        return False, harmful, ""
    hits = _lists().match(text, level)
    if not hits:
        return True, "", ""
    asks_context = "block list" in system.lower()
    found = context_of(f"{text}\n{context_text}")
    if asks_context and found:
        return True, "", found
    return False, hits[0].category, ""


def style() -> str:
    """How the judge answers now: ``verdict``, ``prose`` or ``cutoff``."""
    value = os.environ.get("FAKE_OLLAMA_JUDGE", "verdict").strip().lower()
    return value if value in ("verdict", "prose", "cutoff") else "verdict"


def vision_sees() -> str:
    """What the simulated vision model sees in every picture."""
    return os.environ.get(
        "FAKE_OLLAMA_VISION_SEES", "a friendly, colourful picture with soft shapes"
    )


def answer(text: str, system: str, model: str, *, context_text: str = "") -> str:
    """The judge's answer text, in the configured style."""
    mode = style()
    if mode == "prose":
        return PROSE
    if mode == "cutoff":
        return " ".join(["Let me think about this carefully, step by step."] * 80)
    safe, category, context = verdict(text, system, context_text=context_text)
    if model.startswith("llama-guard"):
        return "safe" if safe else f"unsafe\n{_CATEGORY_CODES.get(category, 'S1')}"
    if safe:
        return f"SAFE: {context}" if context else "SAFE"
    return f"UNSAFE: {category.replace('_', '-') or 'harmful'}, the text is not suitable."
