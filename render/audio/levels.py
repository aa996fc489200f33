"""Sample peak and RMS of a block, in dBFS: the per-layer and bed meters."""

from __future__ import annotations

import math

import numpy as np

# What "nothing" reads as. A float rather than -inf so every level is valid JSON and a gauge;
# 120 dB below full scale is far under anything a 24-bit path can carry.
FLOOR_DB = -120.0


def to_db(amplitude: float) -> float:
    """20·log10 of a linear amplitude, floored at FLOOR_DB (0 and below read FLOOR_DB)."""
    if amplitude <= 0.0:
        return FLOOR_DB
    return max(FLOOR_DB, 20.0 * math.log10(amplitude))


def peak_rms_db(block: np.ndarray) -> tuple[float, float]:
    """(sample peak, RMS) of an (n, 2) float32 block over both channels, in dBFS, floored at
    FLOOR_DB. An empty block reads FLOOR_DB for both."""
    if block.size == 0:
        return FLOOR_DB, FLOOR_DB
    flat = block.reshape(-1)
    peak = float(max(flat.max(), -flat.min()))  # no |x| temporary
    mean_square = float(np.dot(flat, flat)) / flat.size
    return to_db(peak), to_db(math.sqrt(mean_square))
