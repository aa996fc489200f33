"""Real-time loudness normalisation: a slow gain that brings the program to its target loudness.

No look-ahead: the gain for a block comes from what has been heard up to and including that
block, so the normaliser adds no delay at all (the issue allows one frame of delay for the
whole audio path, and the true-peak limiter after it takes 1.7 ms of that). FFmpeg's
`loudnorm` cannot be used: in its dynamic mode it buffers 3 s of audio to look ahead (and
resamples to 192 kHz), so the sound would trail the picture by 3 s.

Design, and why:
- The input (before the gain) is measured with libebur128's K-weighted momentary loudness
  (400 ms), read once per block. The loudness the gain rides on is the mean energy of those
  readings over the last 3 s of sound: close to BS.1770's short-term loudness, without its
  price (libebur128 sums 3 s of samples at every short-term read: 0.3 ms a block here).
  Measuring the input, not the output, keeps the loop open: the gain cannot chase itself.
- Wanted gain = target - loudness, clamped to [MIN_GAIN_DB, MAX_GAIN_DB]: +24 dB lifts a
  -38 LUFS source to -14; no program needs more than -20.
- The gain moves towards the wanted gain in dB with a one-pole filter, faster down
  (DOWN_SECONDS) than up (UP_SECONDS): a sudden loud passage comes down within a second (the
  limiter catches its first peaks), a quiet one is brought up without pumping.
- Silence gate: while the momentary loudness is under GATE_LUFS the gain holds. Silence, a
  pause or the gap between two tracks is never pumped up to +24 dB, ready to blast the next.
  After a gap the 3 s window starts afresh: the next track is measured on its own, so a louder
  one is brought down from its first settled reading instead of the last track's readings
  holding the gain up for seconds.
- Settling: the momentary window takes 400 ms to fill with a new sound; until it has, its
  reading is low (part of the window is the silence before), so the gain may only come down
  (if even that low reading says the sound is too loud), never up.
- Snap: at the start, and after more than SNAP_AFTER_SILENCE_SECONDS of silence, the first
  settled measurement sets the gain at once instead of slewing, so a stream of a -33 LUFS bed
  starts at -14, not 19 dB too quiet for the next ten seconds.
- The gain is applied as a linear ramp across each block from the previous block's gain, so
  it never steps (no zipper noise, no click), even when it snaps.
- Disabled: the gain ramps to 0 dB over one block and stays; the measurement goes on, so
  turning it back on starts from a current loudness (and slews up from 0 dB, never jumps).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from pyebur128 import MeasurementMode, R128State, get_loudness_momentary

GATE_LUFS = -50.0
MIN_GAIN_DB, MAX_GAIN_DB = -20.0, 24.0
DOWN_SECONDS = 0.4  # time constant of the gain coming down
UP_SECONDS = 2.0  # ... and of it going up
WINDOW_SECONDS = 3.0  # the loudness the gain rides on: the last 3 s of sound (short-term)
SETTLE_SECONDS = 0.4  # the momentary window: a new sound is measured once it fills it
SNAP_AFTER_SILENCE_SECONDS = 3.0  # longer than a gap between tracks


class Normaliser:
    """`process` each block of the program with the target; `gain_db` is the gain applied at
    the end of the last block."""

    def __init__(self, rate: int = 48000) -> None:
        self.rate = rate
        self.gain_db = 0.0
        self._state = R128State(2, rate, MeasurementMode.MODE_M)
        # (samples, samples x momentary energy) of the window, and their sums (kept running:
        # summing 90 pairs every block cost 0.08 ms).
        self._energies: deque[tuple[int, float]] = deque()
        self._window_samples = 0
        self._window_energy = 0.0
        self._sounding = 0  # samples since the input rose above the gate
        self._silent = 0  # samples since it fell below
        self._snap = True

    def process(self, block: np.ndarray, target_lufs: float, enabled: bool) -> np.ndarray:
        """The (n, 2) float32 block with the gain applied (a new array)."""
        n = len(block)
        if not n:
            return np.zeros((0, 2), np.float32)
        wanted, settled = self._measure(block, target_lufs)
        before = self.gain_db
        if not enabled:
            self.gain_db = 0.0
            self._snap = self._snap and not settled  # turning on later slews from 0 dB
        elif wanted is not None:
            if self._snap and settled:
                self.gain_db, self._snap = wanted, False
            else:
                seconds = DOWN_SECONDS if wanted < before else UP_SECONDS
                self.gain_db += (wanted - before) * -math.expm1(-n / (seconds * self.rate))
        return _ramp(block, before, self.gain_db)

    def _measure(self, block: np.ndarray, target_lufs: float) -> tuple[float | None, bool]:
        """Measure the block: the gain wanted now (None: hold the gain) and whether it comes
        from a settled measurement."""
        frames = len(block)
        self._state.add_frames(np.ascontiguousarray(block, np.float32).reshape(-1), frames)
        momentary = float(get_loudness_momentary(self._state))
        if not momentary >= GATE_LUFS:  # -inf (nothing yet) included
            self._silent += frames
            self._sounding = 0
            # What comes after a gap is measured on its own: the last track's readings would
            # hold its gain (or push it the wrong way) for seconds.
            self._energies.clear()
            self._window_samples = 0
            self._window_energy = 0.0
            if self._silent > SNAP_AFTER_SILENCE_SECONDS * self.rate:
                self._snap = True
            return None, False
        self._silent = 0
        self._sounding += frames
        if self._sounding < SETTLE_SECONDS * self.rate:
            # The reading is low while the window fills: it may only bring the gain down.
            return min(self.gain_db, _clamp(target_lufs - momentary)), False
        energy = frames * 10.0 ** (momentary / 10.0)
        self._energies.append((frames, energy))
        self._window_samples += frames
        self._window_energy += energy
        while self._window_samples - self._energies[0][0] >= WINDOW_SECONDS * self.rate:
            count, gone = self._energies.popleft()
            self._window_samples -= count
            self._window_energy -= gone
        mean = max(self._window_energy, 0.0) / self._window_samples
        return _clamp(target_lufs - 10.0 * math.log10(mean)), True


def _clamp(gain_db: float) -> float:
    return min(MAX_GAIN_DB, max(MIN_GAIN_DB, gain_db))


def _ramp(block: np.ndarray, from_db: float, to_db: float) -> np.ndarray:
    """The block times a gain going linearly (in amplitude) from `from_db` (before its first
    sample) to `to_db` (at its last)."""
    start, end = 10.0 ** (from_db / 20.0), 10.0 ** (to_db / 20.0)
    if start == end:
        return block * np.float32(end)
    steps = np.arange(1, len(block) + 1, dtype=np.float64) * ((end - start) / len(block))
    ramped: np.ndarray = block * (start + steps).astype(np.float32)[:, None]
    return ramped
