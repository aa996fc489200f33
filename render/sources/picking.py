"""Which of the frames a source handed over the render thread shows (the parent's side).

A source process writes ahead into the slots it owns; each frame it reports is *held* by the
parent (pending, then shown) until a newer one replaces it, and then released: its slot goes
back to the process (render.sources.ring). With a ring of 4 slots a source runs at most 3
frames ahead of what is on air, which bounds both memory and latency.

Files (FilePicker): for each output slot, the newest pending frame whose time is at or before
the asked position, i.e. the frame whose time covers it; older ones are skipped. A position
that jumps back, or more than FAR_AHEAD past the newest frame, asks the process to seek (the
frames of earlier seeks are then released as they arrive, told apart by their epoch).

Live inputs (LivePicker): a small jitter buffer. A frame is due JITTER after the earliest it
could have arrived, going by its timestamp and the smallest lag (arrival minus timestamp) of
the last LAG_WINDOW seconds; the newest due frame is shown. So frames that arrive unevenly go
on air evenly, none later than JITTER after it was decoded, and never more than MAX_PENDING
wait.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from render.sources.ring import RingView
from render.sources.spec import SourceFrame

EPSILON = 1e-3
FAR_AHEAD = 1.0
JITTER = 0.03
LAG_WINDOW = 2.0
MAX_PENDING = 3
# A change of lag beyond this is a jump of the input's timestamps, not network jitter.
TIMESTAMP_JUMP = 1.0


@dataclass(frozen=True)
class Held:
    """A frame the parent holds, and whose slot it is (`ring.release(slot)` hands it back)."""

    frame: SourceFrame
    ring: RingView
    slot: int
    epoch: int


class FilePicker:
    """Frame-accurate playback of a file on the positions the render thread asks for."""

    def __init__(self, now: float) -> None:
        self.pending: collections.deque[Held] = collections.deque()
        self.shown: Held | None = None
        self.epoch = 0
        self.seek: tuple[int, float] | None = None  # (epoch, position) to send the process
        self._target = 0.0  # where the current epoch begins
        self._asked_at = now
        self._ended = False

    def add(self, held: Held) -> list[Held]:
        """Take a frame the process reported; what is released at once (a stale frame)."""
        if held.epoch != self.epoch:
            return [held]
        self.pending.append(held)
        return []

    def ended(self, epoch: int) -> None:
        """The process sent its last frame (a file that does not loop)."""
        if epoch == self.epoch:
            self._ended = True

    def restarted(self, now: float) -> None:
        """A new process plays from the beginning; the frames the old one sent are dropped
        (their slots died with it; the shown one stays on air until a new one replaces it)."""
        self.pending.clear()
        self.epoch, self._target, self._asked_at, self._ended = 0, 0.0, now, False
        self.seek = None

    def pick(self, position: float | None, now: float) -> list[Held]:
        """Show the frame covering `position` (None: the newest); what is released."""
        released: list[Held] = []
        if position is None:
            position = self.pending[-1].frame.time if self.pending else math.inf
        elif self._jumped(position, now):
            released += self._ask_seek(position, now)
        choice: Held | None = None
        while self.pending and self.pending[0].frame.time <= position + EPSILON:
            if choice is not None:
                released.append(choice)
            choice = self.pending.popleft()
        if choice is None and self.shown is None and self.pending:
            choice = self.pending.popleft()  # the very first picture, even a little early
        if choice is not None:
            if self.shown is not None:
                released.append(self.shown)
            self.shown = choice
        return released

    def _jumped(self, position: float, now: float) -> bool:
        current = self.shown is not None and self.shown.epoch == self.epoch
        start = self.shown.frame.time if current and self.shown else self._target
        if position < start - EPSILON:
            return True
        if self.pending:
            newest = self.pending[-1].frame.time
        elif current and self.shown:
            newest = self.shown.frame.time
        else:  # nothing of this epoch yet: the process is seeking (or starting)
            newest = self._target + (now - self._asked_at)
        return position > newest + FAR_AHEAD and not self._ended

    def _ask_seek(self, position: float, now: float) -> list[Held]:
        self.epoch += 1
        self._target, self._asked_at, self._ended = position, now, False
        self.seek = (self.epoch, position)
        released = list(self.pending)
        self.pending.clear()
        return released


class LivePicker:
    """The jitter buffer of a live input."""

    def __init__(self) -> None:
        self.pending: collections.deque[Held] = collections.deque()
        self.shown: Held | None = None
        self._epoch: int | None = None
        self._lags: collections.deque[tuple[float, float]] = collections.deque()
        self._base = 0.0

    def add(self, held: Held) -> list[Held]:
        """Take a frame the process reported; what is released (beyond MAX_PENDING)."""
        released: list[Held] = []
        frame = held.frame
        lag = frame.decoded_at - frame.time
        if held.epoch != self._epoch or abs(lag - self._base) > TIMESTAMP_JUMP:
            # A new connection, or the timestamps jumped: the old frames' times mean nothing.
            self._epoch = held.epoch
            self._lags.clear()
            released += self.pending
            self.pending.clear()
        self._lags.append((frame.decoded_at, lag))
        while self._lags[0][0] < frame.decoded_at - LAG_WINDOW:
            self._lags.popleft()
        self._base = min(each for _, each in self._lags)
        self.pending.append(held)
        while len(self.pending) > MAX_PENDING:
            released.append(self.pending.popleft())
        return released

    def restarted(self, now: float) -> None:
        """A new process: what the old one sent goes (the shown frame stays on air)."""
        self.pending.clear()
        self._epoch = None

    def pick(self, position: float | None, now: float) -> list[Held]:
        """Show the newest due frame (`position` is not used); what is released."""
        released: list[Held] = []
        choice: Held | None = None
        while self.pending and self.pending[0].frame.time + self._base + JITTER <= now:
            if choice is not None:
                released.append(choice)
            choice = self.pending.popleft()
        if choice is not None:
            if self.shown is not None:
                released.append(self.shown)
            self.shown = choice
        return released
