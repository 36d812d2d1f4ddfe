"""The seed policy: new prompt -> new seed, edit -> same seed, lock -> always the same."""

from __future__ import annotations

import random

import pytest

from ai4artsed_desktop.pipeline.seeds import RANDOM_SEED_MAX, SEED_MAX, SeedPolicy


def policy(seed: int = 7) -> SeedPolicy:
    return SeedPolicy(random.Random(seed))


def test_new_prompts_get_new_random_seeds_deterministically() -> None:
    first, second = policy(), policy()
    prompts = ["a fox", "a bear", "a wolf", "an owl"]
    seeds = [first.next_seed(p, edited=False) for p in prompts]
    assert seeds == [second.next_seed(p, edited=False) for p in prompts]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s <= RANDOM_SEED_MAX for s in seeds)
    expected = random.Random(7)
    assert seeds[0] == expected.randint(0, RANDOM_SEED_MAX)


def test_edited_prompt_keeps_the_seed() -> None:
    seeds = policy()
    seed = seeds.next_seed("a fox in the snow", edited=False)
    assert seeds.next_seed("a red fox in the snow", edited=True) == seed
    assert seeds.next_seed("a red fox in deep snow", edited=True) == seed
    assert seeds.last_prompt == "a red fox in deep snow"
    assert seeds.last_seed == seed
    # a fresh prompt (from a new run of the pipeline) draws again
    assert seeds.next_seed("a heron at dawn", edited=False) != seed


def test_generating_the_same_prompt_again_gives_a_new_variation() -> None:
    seeds = policy()
    first = seeds.next_seed("a fox", edited=False)
    assert seeds.next_seed("a fox", edited=False) != first


def test_an_edit_before_any_run_draws_a_seed() -> None:
    seeds = policy()
    before = seeds.last_seed
    assert before is None
    seed = seeds.next_seed("typed by hand", edited=True)
    assert seeds.last_seed == seed


def test_lock_keeps_the_last_seed_until_unlocked() -> None:
    seeds = policy()
    seed = seeds.next_seed("a fox", edited=False)
    assert seeds.lock() == seed
    assert [seeds.locked] == [True]
    assert seeds.next_seed("something else", edited=False) == seed
    assert seeds.next_seed("something else", edited=False) == seed
    seeds.unlock()
    assert not seeds.locked
    assert seeds.next_seed("something else", edited=True) == seed  # edit: still the same
    assert seeds.next_seed("a new idea", edited=False) != seed


def test_lock_with_a_given_seed_and_before_any_run() -> None:
    seeds = policy()
    assert seeds.lock(SEED_MAX) == SEED_MAX
    assert seeds.next_seed("a fox", edited=False) == SEED_MAX
    fresh = policy()
    drawn = fresh.lock()
    assert fresh.next_seed("a fox", edited=False) == drawn


@pytest.mark.parametrize("bad", [-1, SEED_MAX + 1, True, 1.5])
def test_lock_refuses_invalid_seeds(bad: object) -> None:
    seeds = policy()
    with pytest.raises(ValueError, match="whole number"):
        seeds.lock(bad)  # type: ignore[arg-type]
    assert not seeds.locked


def test_default_random_source_works() -> None:
    seeds = SeedPolicy()
    assert 0 <= seeds.next_seed("x", edited=False) <= RANDOM_SEED_MAX
