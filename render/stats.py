"""Frame statistics of the current stream, summed up once a second for the telemetry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One second (or so) of frames: rate and mean cost."""

    fps: float
    average_render_ms: float


class FrameStats:
    """Counts frames, drops and render time; `window` holds the figures of the last full second."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.frame_count = 0
        self.dropped = 0
        self.window = Window(0.0, 0.0)
        self._opened = now()
        self._frames = 0
        self._seconds = 0.0

    def record(self, render_seconds: float, dropped: int) -> None:
        """One frame out, which took `render_seconds` to composite and encode; `dropped` is the
        clock's count of slots skipped so far."""
        self.frame_count += 1
        self.dropped = dropped
        self._frames += 1
        self._seconds += render_seconds
        now = self._now()
        elapsed = now - self._opened
        if elapsed >= 1.0:
            self.window = Window(round(self._frames / elapsed, 2),
                                 round(self._seconds / self._frames * 1000, 3))
            self._opened, self._frames, self._seconds = now, 0, 0.0
