"""The safety policy: one row per level, the single source of truth (product.md §2).

Every safety decision of a run reads this table: the gate (which checks run on which
text, what a word-list hit means, what the judge may do), the runner (when an LLM stage's
text is judged, whether previews may be shown, whether the image is looked at) and the
Settings help text (:func:`policy_help`). A level that cannot be read falls back to the
strictest row (:func:`policy_for`), so the lookup itself fails closed.

* **kids**: a word-list hit blocks and the judge cannot clear it; the judge looks at every
  text and may only add blocks; each LLM stage text is judged before the child sees it;
  the final prompt gets word lists and the judge (in English); every image is judged, and
  without a vision model there are no image outputs (unless a teacher switches the media
  check off with the PIN).
* **youth**: a hit goes to the judge, which may clear it only by naming a context (fairy
  tale, history, sport, food); each completed stage text is judged before the next stage;
  the final prompt gets word lists and the judge; images are judged when a vision model is
  installed, else shown with a "not checked" note.
* **adult**: word lists on the idea, the rules and the final prompt; a hit blocks.
* **research**: nothing is checked; a teacher confirms the level once per session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class HitRule(enum.Enum):
    """What a word-list hit means."""

    blocks = "blocks"  # the text is blocked; nothing can clear it
    to_judge = "to_judge"  # the judge decides; it may clear only with a stated context
    none = "none"  # no word lists at all


class TextCheck(enum.Enum):
    """When the text an LLM stage wrote is judged."""

    before_shown = "before_shown"  # held back until judged; never streamed to the UI
    before_next = "before_next"  # streamed, then judged before anything continues with it
    never = "never"


class MediaCheck(enum.Enum):
    """What happens to a generated image."""

    required = "required"  # judged; without a vision model image outputs are unavailable
    if_available = "if_available"  # judged when a vision model exists, else "not checked"
    never = "never"


@dataclass(frozen=True)
class LevelPolicy:
    """What one safety level checks and how strictly.

    Attributes:
        level: ``kids``, ``youth``, ``adult`` or ``research``.
        hits: What a word-list hit on the idea, the rules, a stage text or the final
            prompt means.
        judge_always: The judge looks at every checked text, not only at word-list hits.
        stage_texts: When the texts of the LLM stages (interception, adaptation,
            translation, code) are judged.
        final_prompt_lists: Word lists run on the final prompt (stage 4).
        final_prompt_judge: The judge gives a verdict on the final prompt (stage 4).
        code_scan: Generated code goes through the pattern scan (network, storage, eval).
        translate: The final prompt is always translated to English.
        media: The check of generated images (stage 6).
        fail_closed: A judge that is missing, unreachable or unreadable blocks the run.
        needs_confirmation: A teacher confirms the level once per session.
    """

    level: str
    hits: HitRule
    judge_always: bool
    stage_texts: TextCheck
    final_prompt_lists: bool
    final_prompt_judge: bool
    code_scan: bool
    translate: bool
    media: MediaCheck
    fail_closed: bool
    needs_confirmation: bool = False

    @property
    def uses_judge(self) -> bool:
        """The level asks the local safety model at all."""
        return self.judge_always or self.hits is HitRule.to_judge

    @property
    def hides_previews(self) -> bool:
        """Live previews would show an image before the media check: hold them back."""
        return self.media is not MediaCheck.never


KIDS = LevelPolicy(
    level="kids",
    hits=HitRule.blocks,
    judge_always=True,
    stage_texts=TextCheck.before_shown,
    final_prompt_lists=True,
    final_prompt_judge=True,
    code_scan=True,
    translate=True,
    media=MediaCheck.required,
    fail_closed=True,
)
YOUTH = LevelPolicy(
    level="youth",
    hits=HitRule.to_judge,
    judge_always=False,
    stage_texts=TextCheck.before_next,
    final_prompt_lists=True,
    final_prompt_judge=True,
    code_scan=True,
    translate=False,
    media=MediaCheck.if_available,
    fail_closed=True,
)
ADULT = LevelPolicy(
    level="adult",
    hits=HitRule.blocks,
    judge_always=False,
    stage_texts=TextCheck.never,
    final_prompt_lists=True,
    final_prompt_judge=False,
    code_scan=True,
    translate=False,
    media=MediaCheck.never,
    fail_closed=False,
)
RESEARCH = LevelPolicy(
    level="research",
    hits=HitRule.none,
    judge_always=False,
    stage_texts=TextCheck.never,
    final_prompt_lists=False,
    final_prompt_judge=False,
    code_scan=False,
    translate=False,
    media=MediaCheck.never,
    fail_closed=False,
    needs_confirmation=True,
)

#: The policy table, in the order of the Settings choices.
POLICIES: dict[str, LevelPolicy] = {p.level: p for p in (KIDS, YOUTH, ADULT, RESEARCH)}
#: What an unknown, empty or unreadable level means: the strictest row.
FALLBACK = KIDS


def policy_for(level: object) -> LevelPolicy:
    """The policy of ``level``; anything that is not a known level gets the kids row."""
    if isinstance(level, str):
        found = POLICIES.get(level.strip().lower())
        if found is not None:
            return found
    return FALLBACK


def known_level(level: object) -> str:
    """``level`` when it is a known level, else the fallback's name (``kids``)."""
    return policy_for(level).level


_HELP = {
    "en": {
        "kids": "Kids (8–12): a word on the lists blocks; the safety model checks every text "
        "before the child sees it and may only add blocks; every image is checked (no vision "
        "model: no image outputs, unless a teacher switches the image check off).",
        "youth": "Youth (13–17): a word on the lists goes to the safety model, which may let "
        "it pass only with a stated context (fairy tale, history, sport, food); every stage "
        "text is checked before the next stage; images are checked when a vision model is "
        "installed, otherwise they carry a “not checked” note.",
        "adult": "Adult: word lists on the idea, the rules and the final prompt; a word on "
        "the lists blocks. No safety model, no image check.",
        "research": "Research: no checks at all. A teacher confirms it with the PIN in every "
        "session.",
    },
    "de": {
        "kids": "Kinder (8–12): Ein Wort von den Listen blockiert; das Sicherheitsmodell "
        "prüft jeden Text, bevor das Kind ihn sieht, und darf nur zusätzlich blockieren; "
        "jedes Bild wird geprüft (ohne Bildmodell keine Bildausgaben, außer eine Lehrkraft "
        "schaltet die Bildprüfung aus).",
        "youth": "Jugend (13–17): Ein Wort von den Listen geht an das Sicherheitsmodell; es "
        "darf nur mit einem genannten Zusammenhang (Märchen, Geschichte, Sport, Essen) "
        "durchlassen; jeder Stufentext wird vor der nächsten Stufe geprüft; Bilder werden "
        "geprüft, wenn ein Bildmodell installiert ist, sonst tragen sie den Hinweis "
        "„nicht geprüft“.",
        "adult": "Erwachsene: Wortlisten auf Idee, Regeln und fertigen Prompt; ein Wort von "
        "den Listen blockiert. Kein Sicherheitsmodell, keine Bildprüfung.",
        "research": "Forschung: keine Prüfungen. Eine Lehrkraft bestätigt das in jeder "
        "Sitzung mit der PIN.",
    },
}


def policy_help(lang: str) -> str:
    """The policy table as the Settings help shows it, one paragraph per level."""
    texts = _HELP["de" if lang == "de" else "en"]
    return "\n".join(texts[level] for level in POLICIES)
