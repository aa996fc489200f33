"""Gains that change without a click: the fades and ramps every part of the mix uses.

A gain that goes to or comes from zero (a layer hidden, muted, shown or deleted; the bed
paused or played; the master muted) fades linearly over FADE_SAMPLES (20 ms), then holds; any
other change (a volume slider) ramps linearly over the whole block, one frame.
"""

from __future__ import annotations

import numpy as np

RATE = 48_000
CHANNELS = 2
FADE_SAMPLES = RATE // 50  # 20 ms


def ramp(start: float, end: float, count: int) -> np.ndarray | float:
    """The gain of each of `count` samples going from `start` to `end` (a scalar when it
    does not change)."""
    if start == end:
        return end
    steps = count if start and end else min(FADE_SAMPLES, count)
    gains = np.full(count, end, np.float32)
    gains[:steps] = np.linspace(start, end, steps, endpoint=False, dtype=np.float32)
    return gains


def apply_gain(block: np.ndarray, gains: np.ndarray | float) -> np.ndarray:
    """`block` ((n, 2)) scaled by a scalar or per-sample gain, as a new array."""
    scaled: np.ndarray = block * (gains[:, None] if isinstance(gains, np.ndarray)
                                  else np.float32(gains))
    return scaled
