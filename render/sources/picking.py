"""Which of the frames a source handed over the render thread shows (the parent's side).

A source process writes ahead into the slots it owns; each frame it reports is *held* by the
parent (pending, then shown) until a newer one replaces it, and then released: its slot goes
back to the process (render.sources.ring). With a ring of 4 slots a source runs at most 3
frames ahead of what is on air, which bounds both memory and latency.

Files (FilePicker): for each output slot, the newest pending frame whose time is at or before
the asked position, i.e. the frame whose time covers it; older ones are skipped. A position
that jumps back, or more than FAR_AHEAD past the newest frame, asks the process to seek (the
frames of earlier seeks are then released as they arrive, told apart by their epoch). An
audio-only file has no frames: its sound's reads drive the same seeks (`follow`).

Live inputs (LivePicker): a small jitter buffer. A frame is due JITTER after the earliest it
could have arrived, going by its timestamp and the smallest lag (arrival minus timestamp) of
the last LAG_WINDOW seconds; the newest due frame is shown. So frames that arrive unevenly go
on air evenly, none later than JITTER after it was decoded, and never more than MAX_PENDING
wait. The sound is read from the same instant (`position`). While it is read, the pictures
also wait for it: a slot's read takes the sound from that instant to the next slot's, so
the instant is put back far enough for that much sound to have arrived too: the smallest lag
of its chunks, plus one read, plus a margin for their spread (how much later than that the
latest of the last LAG_WINDOW seconds came, plus SOUND_SLACK, from JITTER to SOUND_JITTER).
Sound comes in bursts (an encoder fed a frame's samples at a time puts out 1024-sample
packets one or two at a time), and a chunk that comes after its read leaves a hole. Lags
beyond MOST_SPREAD are not jitter but a stall or the backlog a server sends a new connection
(the second of sound nginx-rtmp keeps): they do not count. The margin moves by at most 10 ms
so that a read continuing the previous one (render.sources.audio_buffer: within 40 ms) is
never made to jump by it.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from render.sources.ring import RingView
from render.sources.spec import AUDIO_RATE, AudioChunk, SourceFrame

EPSILON = 1e-3
FAR_AHEAD = 1.0
JITTER = 0.03
LAG_WINDOW = 2.0
MAX_PENDING = 3
# A change of lag beyond this is a jump of the input's timestamps, not network jitter.
TIMESTAMP_JUMP = 1.0
# A live input's sound counts as read (its pictures wait for it) this long after a read.
LISTENING = 1.0
# Added to the spread of the sound's lags; the most the margin for it may be.
SOUND_SLACK = 0.005
SOUND_JITTER = 0.04
# Lags this much beyond the smallest are not jitter.
MOST_SPREAD = 0.1


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
        elif self._jumped(position, now, *self._pictures_span()):
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

    def follow(self, position: float, now: float, span: tuple[float, float] | None
               ) -> list[Held]:
        """For a source whose frames are not picked (an audio-only file, read by its sound):
        ask for a seek when `position` is outside what the process delivers, `span` the
        (earliest, newest) timeline time it delivered in this epoch (None: nothing yet).
        What is released."""
        start, newest = span if span is not None else (None, None)
        if self._jumped(position, now, start, newest):
            return self._ask_seek(position, now)
        return []

    def _pictures_span(self) -> tuple[float | None, float | None]:
        """The shown picture's time (if of this epoch) and the newest one's of this epoch."""
        current = self.shown is not None and self.shown.epoch == self.epoch
        start = self.shown.frame.time if current and self.shown else None
        if self.pending:
            return start, self.pending[-1].frame.time
        return start, start

    def _jumped(self, position: float, now: float, start: float | None,
                newest: float | None) -> bool:
        if position < (self._target if start is None else start) - EPSILON:
            return True
        if newest is None:  # nothing of this epoch yet: the process is seeking (or starting)
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
        # The sound's lags (arrival minus its first sample's time) and the delay they ask for
        # (None: to be worked out again).
        self._sound_lags: collections.deque[tuple[float, float]] = collections.deque()
        self._sound_delay: float | None = None
        self._listened_at = -math.inf  # the last read of the sound
        self._read_seconds = 0.0  # ... and how much it read

    @property
    def epoch(self) -> int | None:
        """The connection on air (None: none yet, or a new process)."""
        return self._epoch

    def add(self, held: Held) -> list[Held]:
        """Take a frame the process reported; what is released (beyond MAX_PENDING)."""
        released: list[Held] = []
        frame = held.frame
        lag = frame.decoded_at - frame.time
        if held.epoch != self._epoch or abs(lag - self._base) > TIMESTAMP_JUMP:
            # A new connection, or the timestamps jumped: the old frames' times mean nothing.
            self._epoch = held.epoch
            self._lags.clear()
            self._sound_lags.clear()
            self._sound_delay = None
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

    def hear(self, chunk: AudioChunk) -> bool:
        """Take note of a chunk of sound; whether to keep it: not if it is of an earlier
        connection or its timestamps are not the pictures' (they jumped)."""
        if self._epoch is None or chunk.epoch > self._epoch:
            return True  # (a new connection's sound may come before its first picture)
        if chunk.epoch < self._epoch:
            return False
        lag = chunk.arrived_at - chunk.index / AUDIO_RATE
        if abs(lag - self._base) > TIMESTAMP_JUMP:
            return False
        lags = self._sound_lags
        lags.append((chunk.arrived_at, lag))
        while lags[0][0] < chunk.arrived_at - LAG_WINDOW:
            lags.popleft()
        self._sound_delay = None
        return True

    def listen(self, now: float, seconds: float) -> None:
        """The render thread reads `seconds` of sound from `position(now)` on."""
        if seconds != self._read_seconds:
            self._sound_delay = None
        self._listened_at, self._read_seconds = now, seconds

    def position(self, now: float) -> float | None:
        """The timeline time on air at `now` (None before a frame of this connection): the
        newest due frame's time is at or before it, and a read of the sound starts there."""
        if self._epoch is None:
            return None
        delay = self._base + JITTER
        sound = self._sound_lags
        if (sound and now - self._listened_at < LISTENING
                and now - sound[-1][0] < LAG_WINDOW):
            if self._sound_delay is None:
                lags = [each for _, each in sound]
                low = min(lags)
                high = max(each for each in lags if each <= low + MOST_SPREAD)
                margin = min(SOUND_JITTER, max(JITTER, high - low + SOUND_SLACK))
                self._sound_delay = low + self._read_seconds + margin
            delay = max(delay, self._sound_delay)
        return now - delay

    def restarted(self, now: float) -> None:
        """A new process: what the old one sent goes (the shown frame stays on air)."""
        self.pending.clear()
        self._epoch = None

    def pick(self, position: float | None, now: float) -> list[Held]:
        """Show the newest due frame (`position` is not used); what is released."""
        released: list[Held] = []
        choice: Held | None = None
        due = self.position(now)
        while self.pending and due is not None and self.pending[0].frame.time <= due:
            if choice is not None:
                released.append(choice)
            choice = self.pending.popleft()
        if choice is not None:
            if self.shown is not None:
                released.append(self.shown)
            self.shown = choice
        return released
