"""The program's loudness meter: EBU R128 momentary, short-term and integrated loudness and
true peak, measured by libebur128 (through pyebur128).

Why libebur128: a widely used, well-kept C implementation of ITU-R BS.1770-4 / EBU R128 (it
passes the EBU Tech 3341/3342 test signals), a few C calls per block, with a histogram mode
whose integrated loudness needs constant memory however long the stream runs (a 24/7 channel
would otherwise keep every 100 ms block since it started).
pyloudnorm measures whole files only (no running state, no true peak); libavfilter's `ebur128`
through PyAV would mean a filter graph and frame objects on the render thread for every block.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from pyebur128 import (
    MeasurementMode,
    R128State,
    get_loudness_global,
    get_loudness_momentary,
    get_loudness_shortterm,
    get_previous_true_peak,
)

from render.audio.levels import FLOOR_DB, to_db

# BS.1770's absolute gate: a loudness below it is silence as far as the standard goes, so the
# meter reads None (unmeasurable) rather than a number that means nothing.
ABSOLUTE_GATE_LUFS = -70.0
# The true peak shown is the highest of this window, so a meter read ten times a second still
# sees a brief over, and it falls back once the over has passed.
TRUE_PEAK_WINDOW_SECONDS = 3.0
# libebur128 sums its whole 3 s window for each short-term reading (0.27 ms); it moves slowly,
# so a reading is taken this often and shown meanwhile.
SHORT_TERM_EVERY_SECONDS = 0.5

_MODE = (MeasurementMode.MODE_M | MeasurementMode.MODE_S | MeasurementMode.MODE_I
         | MeasurementMode.MODE_TRUE_PEAK | MeasurementMode.MODE_HISTOGRAM)


@dataclass(frozen=True)
class ProgramLoudness:
    """One reading: LUFS (None while unmeasurable: silence, below the gate) and dBTP."""

    momentary_lufs: float | None
    short_term_lufs: float | None
    integrated_lufs: float | None
    true_peak_db: float


def lufs(value: float) -> float | None:
    """A libebur128 loudness as a reading: None for -inf (nothing measured yet) and below the
    absolute gate."""
    return value if math.isfinite(value) and value >= ABSOLUTE_GATE_LUFS else None


class ProgramMeter:
    """Feed it every block of the program with `add`; `reading` whenever the levels are wanted.

    Memory stays constant: libebur128's histogram and 3 s ring, and one (samples, peak) pair per
    block of the last TRUE_PEAK_WINDOW_SECONDS.
    """

    def __init__(self, rate: int = 48000) -> None:
        self._rate = rate
        self._window = round(TRUE_PEAK_WINDOW_SECONDS * rate)
        self.reset()

    def reset(self) -> None:
        """Start over: integrated loudness and the true peak forget everything (a new stream)."""
        self._state = R128State(2, self._rate, _MODE)
        self._peaks: deque[tuple[int, float]] = deque()
        self._peak_samples = 0
        self._short_term: float | None = None
        self._short_term_due = 0  # samples until the next short-term reading

    def add(self, block: np.ndarray) -> None:
        """Measure an (n, 2) float32 block (C-contiguous: its flat view is interleaved)."""
        frames = len(block)
        if not frames:
            return
        self._state.add_frames(np.ascontiguousarray(block, np.float32).reshape(-1), frames)
        peak = max(get_previous_true_peak(self._state, 0), get_previous_true_peak(self._state, 1))
        self._short_term_due -= frames
        self._peaks.append((frames, float(peak)))
        self._peak_samples += frames
        # Keep the newest blocks that cover the window (the oldest may reach a little beyond it).
        while self._peak_samples - self._peaks[0][0] >= self._window:
            self._peak_samples -= self._peaks.popleft()[0]

    def reading(self) -> ProgramLoudness:
        """The loudness now: momentary (400 ms), short-term (3 s; read at most every
        SHORT_TERM_EVERY_SECONDS of sound), integrated (since the start or the last reset,
        gated) and the highest true peak of the last 3 s."""
        peak = max((peak for _, peak in self._peaks), default=0.0)
        if self._short_term_due <= 0:
            self._short_term = lufs(float(get_loudness_shortterm(self._state)))
            self._short_term_due = round(SHORT_TERM_EVERY_SECONDS * self._rate)
        return ProgramLoudness(
            momentary_lufs=lufs(float(get_loudness_momentary(self._state))),
            short_term_lufs=self._short_term,
            integrated_lufs=lufs(float(get_loudness_global(self._state))),
            true_peak_db=to_db(peak) if peak > 0 else FLOOR_DB,
        )
