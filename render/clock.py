"""The frame clock: frame slots at a fixed rate on a monotonic timeline.

Slot n is due at `start + n / fps`. A frame that finishes late does not push the schedule back
(that would drift); the clock skips the slots whose time has passed and counts them as dropped,
so the stream keeps real time and the timestamps stay on the fps grid.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class FrameClock:
    """Hands out frame slots at `fps`, dropping the ones the loop was too late for."""

    def __init__(self, fps: float, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.fps = fps
        self._now = now
        self._sleep = sleep
        self._start = now()
        self._next = 0
        self.dropped = 0

    def due(self, slot: int) -> float:
        """The monotonic time a slot is due."""
        return self._start + slot / self.fps

    def next_slot(self) -> int:
        """Wait for the next slot and return it.

        When the next slot's whole interval has already passed, the missed slots are skipped
        and counted in `dropped`: the frame made now is for the slot that is due now.
        """
        now = self._now()
        current = math.floor((now - self._start) * self.fps)
        if current > self._next:
            self.dropped += current - self._next
            self._next = current
        wait = self.due(self._next) - now
        if wait > 0:
            self._sleep(wait)
        slot = self._next
        self._next += 1
        return slot

    def begin_now(self) -> None:
        """Let the timeline begin now, with the slot just handed out on air: the next slot is
        due one frame from now. For the first frame of a stream, whose one-time costs (every
        tile rasterised, the encoder's first keyframe) are not lateness: nothing was on air
        before it, so no slot was missed."""
        self._start = self._now() - (self._next - 1) / self.fps
