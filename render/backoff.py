"""Capped exponential backoff with equal jitter, so outputs and sources never retry in lockstep."""

from __future__ import annotations

import random


class Backoff:
    """Delays of base * 2**n capped at `cap`; each is drawn from [half, whole] of that."""

    def __init__(self, base: float = 0.5, cap: float = 30.0,
                 rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt; each call doubles the ceiling."""
        ceiling = min(self.cap, self.base * 2 ** self._attempt)
        self._attempt = min(self._attempt + 1, 32)
        # Equal jitter keeps at least half the delay: never a hot retry loop.
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    def reset(self) -> None:
        """Start again from `base`, after a connection that held."""
        self._attempt = 0
