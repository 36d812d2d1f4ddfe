"""The policy table: one row per level, as product.md §2 states it; lookups fail closed."""

from __future__ import annotations

import pytest

from ai4artsed_desktop.pipeline.safety_policy import (
    POLICIES,
    HitRule,
    MediaCheck,
    TextCheck,
    policy_for,
    policy_help,
)
from ai4artsed_desktop.settings import SAFETY_LEVELS


def test_one_row_per_settings_level() -> None:
    assert tuple(POLICIES) == SAFETY_LEVELS


def test_the_rows_say_what_product_md_says() -> None:
    kids, youth, adult, research = (POLICIES[lvl] for lvl in SAFETY_LEVELS)
    assert (kids.hits, kids.judge_always, kids.stage_texts) == (
        HitRule.blocks, True, TextCheck.before_shown
    )  # fmt: skip
    assert (kids.media, kids.translate, kids.fail_closed) == (MediaCheck.required, True, True)
    assert (youth.hits, youth.judge_always, youth.stage_texts) == (
        HitRule.to_judge, False, TextCheck.before_next
    )  # fmt: skip
    assert (youth.media, youth.fail_closed) == (MediaCheck.if_available, True)
    assert (adult.hits, adult.uses_judge, adult.final_prompt_lists) == (HitRule.blocks, False, True)
    assert (adult.stage_texts, adult.media) == (TextCheck.never, MediaCheck.never)
    assert research.needs_confirmation
    assert research.hits is HitRule.none
    assert not research.uses_judge
    assert research.media is MediaCheck.never


@pytest.mark.parametrize("level", [None, "", "toddler", 3, "kinder", ["kids"], "res earch"])
def test_an_unreadable_level_falls_back_to_kids(level: object) -> None:
    assert policy_for(level) is POLICIES["kids"]


def test_lookup_tolerates_case_and_spaces() -> None:
    assert policy_for(" Adult ") is POLICIES["adult"]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_help_names_every_level(lang: str) -> None:
    text = policy_help(lang)
    assert len(text.splitlines()) == len(POLICIES)
    assert ("Kinder" if lang == "de" else "Kids") in text
