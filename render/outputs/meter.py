"""An output's measured bitrate: bytes written over the last few seconds."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

WINDOW_SECONDS = 5.0


class RateMeter:
    """Bits per second over the last `window` seconds, from a growing count of bytes.

    Not thread-safe: the owner holds its lock around it. An output that stops writing reads
    lower and lower, then 0, since the rate is measured up to now, not to the last sample.
    """

    def __init__(self, window: float = WINDOW_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._now = now
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, total_bytes: int) -> None:
        """The byte count written so far (never decreasing)."""
        self._samples.append((self._now(), total_bytes))
        self._forget_old(self._now())

    def bits_per_second(self) -> int:
        """The rate over the window (0 until two samples are known)."""
        now = self._now()
        self._forget_old(now)
        if len(self._samples) < 2 or now <= self._samples[0][0]:
            return 0
        (began, first), (_, last) = self._samples[0], self._samples[-1]
        return round((last - first) * 8 / (now - began))

    def _forget_old(self, now: float) -> None:
        # Keep the newest sample older than the window: it is where the window starts.
        while len(self._samples) > 1 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()
