"""The seed policy of a run (product.md §2): new prompt, new seed; edited prompt, same seed.

Rules, checked in this order:

1. **Locked** (the "lock seed" toggle): always the locked seed.
2. **Edited**: the student changed the prompt of the previous run by hand, so the same seed
   is reused and the picture shows what the edit changed.
3. Anything else (a new prompt, or "generate again" with the same one) draws a new random
   seed. An unchanged prompt with an unchanged seed would only bring back ComfyUI's cached
   result, so "again" means "another variation".

Random seeds lie in [0, 2**32 - 1]: short enough to read out in class and valid for every
backend (SwarmUI stores seeds as signed 64-bit numbers, ComfyUI takes up to 2**64 - 1).
"""

from __future__ import annotations

import random

RANDOM_SEED_MAX = 2**32 - 1
"""The largest seed :class:`SeedPolicy` draws."""

SEED_MAX = 2**64 - 1
"""The largest seed accepted for locking (ComfyUI's limit)."""


class SeedPolicy:
    """Chooses the seed of each run and remembers the last prompt and seed.

    Args:
        rng: The random source (inject ``random.Random(n)`` for repeatable tests); a fresh
            ``random.Random()`` by default.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng if rng is not None else random.Random()
        self._last_prompt: str | None = None
        self._last_seed: int | None = None
        self._locked = False

    @property
    def last_prompt(self) -> str | None:
        """The prompt of the last :meth:`next_seed` call, if any."""
        return self._last_prompt

    @property
    def last_seed(self) -> int | None:
        """The seed the last run got (or the locked seed), if any."""
        return self._last_seed

    @property
    def locked(self) -> bool:
        """True while every run gets the same seed."""
        return self._locked

    def lock(self, seed: int | None = None) -> int:
        """Lock the seed: ``seed`` if given, else the last one (a new one if there is none).

        Returns:
            The locked seed.

        Raises:
            ValueError: ``seed`` is not a whole number in [0, 2**64 - 1].
        """
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
                raise ValueError(f"seed must be a whole number in [0, {SEED_MAX}], not {seed!r}")
            self._last_seed = seed
        elif self._last_seed is None:
            self._last_seed = self._draw()
        self._locked = True
        return self._last_seed

    def unlock(self) -> None:
        """Let the seed change again (the next new prompt draws a new one)."""
        self._locked = False

    def next_seed(self, prompt: str, *, edited: bool) -> int:
        """The seed for a run of ``prompt``.

        Args:
            prompt: The generation prompt of this run.
            edited: The student edited the previous run's prompt by hand to get ``prompt``.

        Returns:
            The locked seed; the previous seed for an edit; otherwise a new random seed.
        """
        if self._last_seed is not None and (self._locked or edited):
            seed = self._last_seed
        else:
            seed = self._draw()
        self._last_prompt = prompt
        self._last_seed = seed
        return seed

    def _draw(self) -> int:
        return self._rng.randint(0, RANDOM_SEED_MAX)
