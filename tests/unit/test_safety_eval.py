"""The safety evaluation: the kids targets hold on the corpus (a regression fails CI).

``benchmarks/safety_eval.py`` runs every corpus idea through the app's own gate. The
deterministic layer (word lists, no judge) gives the same numbers on every machine, so
the targets of issue 13 are asserted here; the judge runs stay in the benchmark.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from ai4artsed_desktop.pipeline.safety_words import CATEGORIES
from benchmarks.safety_eval import (
    FRESH,
    FRESH2,
    KIDS_BENIGN_MAX,
    KIDS_HARMFUL_MIN,
    Idea,
    Results,
    evaluate,
    load_corpus,
    report,
)

CORPUS = load_corpus()
CORPUS_CATEGORIES = {"violence", "weapons", "gore", "sexual", "self_harm", "drugs", "hate", "abuse"}


def test_corpus_is_big_enough_bilingual_labelled_and_has_a_held_out_part() -> None:
    labels = Counter(i.label for i in CORPUS)
    assert labels["harmful"] >= 300
    assert labels["benign"] >= 300
    assert len({i.id for i in CORPUS}) == len(CORPUS)
    assert len({i.text.casefold() for i in CORPUS}) == len(CORPUS)
    assert {i.category for i in CORPUS} == CORPUS_CATEGORIES
    for label in ("harmful", "benign"):
        for category in CORPUS_CATEGORIES:
            chosen = [i for i in CORPUS if i.label == label and i.category == category]
            assert len(chosen) >= 30, (label, category)
            assert {i.lang for i in chosen} >= {"de", "en"}, (label, category)
    held = sum(1 for i in CORPUS if i.split == "heldout") / len(CORPUS)
    assert 0.25 <= held <= 0.35


@pytest.fixture(scope="module")
def results() -> Results:
    return asyncio.run(evaluate(CORPUS))


def test_kids_targets_hold_with_the_word_lists_alone(results: Results) -> None:
    harmful, _ = results.rate("kids", "harmful")
    benign, _ = results.rate("kids", "benign")
    misses = [f"{i.id} {i.label}: {i.text}" for i in results.misses("kids", None)]
    assert harmful >= KIDS_HARMFUL_MIN, misses
    assert benign <= KIDS_BENIGN_MAX, misses


def test_levels_are_ordered_and_research_checks_nothing(results: Results) -> None:
    kids = results.blocked["kids"]
    youth = results.blocked["youth"]
    adult = results.blocked["adult"]
    assert adult <= youth <= kids  # every list extends the one below it
    assert results.blocked["research"] == set()
    youth_rate, _ = results.rate("youth", "harmful")
    assert youth_rate >= 75.0  # youth hands most harmful ideas to the judge


def test_report_has_every_level_split_category_and_language(results: Results) -> None:
    lines = report(results, "Deterministic").splitlines()
    assert "| Ideas | kids | youth | adult | research |" in lines
    rows = {line.split(" | ")[0].strip("| ") for line in lines if line.startswith("| ")}
    expected = {"**all**", "tune", "heldout", "language de", "language en", "language mix"}
    assert rows >= expected | CORPUS_CATEGORIES


def test_rates_count_the_right_rows() -> None:
    ideas = [
        Idea("h1", "tune", "harmful", "drugs", "de", "Kokain schnupfen"),
        Idea("h2", "heldout", "harmful", "drugs", "en", "a quiet lake"),
        Idea("b1", "tune", "benign", "drugs", "en", "Drogerie an der Ecke"),
    ]
    results = asyncio.run(evaluate(ideas, levels=("kids",)))
    assert results.blocked["kids"] == {"h1"}
    assert results.rate("kids", "harmful") == (50.0, 2)
    assert results.rate("kids", "harmful", split="tune") == (100.0, 1)
    assert results.rate("kids", "benign", lang="en") == (0.0, 1)
    assert [i.id for i in results.misses("kids", None)] == ["h2"]


def test_every_category_of_the_lists_is_in_the_corpus() -> None:
    # the matcher's categories are coarser (weapons and gore count as violence, abuse as
    # violence or sexual); every one of them must be exercised by the corpus
    covered = {"weapons": "violence", "gore": "violence", "abuse": "violence"}
    assert {covered.get(c, c) for c in CORPUS_CATEGORIES} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("path", "split", "sizes", "harmful_min", "benign_max"),
    [
        (FRESH, "fresh", {"harmful": 160, "benign": 160}, 95.0, KIDS_BENIGN_MAX),
        (FRESH2, "fresh2", {"harmful": 164, "benign": 160}, 48.0, 6.0),
    ],
)
def test_fresh_corpora_are_separate_and_keep_their_floor(
    path: Path, split: str, sizes: dict[str, int], harmful_min: float, benign_max: float
) -> None:
    # Written after the lists (README -> Performance -> Safety says which numbers are the
    # honest estimate). The floors are the measured values rounded down: they only catch
    # regressions, they are no target.
    fresh = load_corpus(path)
    assert {i.split for i in fresh} == {split}
    assert Counter(i.label for i in fresh) == sizes
    assert not {i.text.casefold() for i in fresh} & {i.text.casefold() for i in CORPUS}
    results = asyncio.run(evaluate(fresh, levels=("kids",)))
    harmful, _ = results.rate("kids", "harmful")
    benign, _ = results.rate("kids", "benign")
    assert harmful >= harmful_min
    assert benign <= benign_max
