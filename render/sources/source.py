"""The render worker's side of one source: what its processes reported and the frames it holds.

Two threads share it without a lock, so the render thread never waits for the supervisor:
- the supervisor thread turns the process's reports into frames and markers on `_inbox` (a
  deque: appends and pops are atomic) and publishes the status as a new immutable object;
- the render thread, in `frame`, takes the inbox into its picker (render.sources.picking),
  which only it touches, hands released slots straight back to the process (ring counters and
  a semaphore post: no system call that lets go of the GIL) and leaves seeks on `_requests`
  for the supervisor to send.
The sound has an inbox of its own, `_sound_inbox`, bounded (a source whose sound nobody reads
keeps only the last AUDIO_INBOX chunks); `audio` moves it into the render thread's
AudioBuffer (render.sources.audio_buffer) and reads a slot's samples, and for an audio-only
file writes how far it read into the process's `played` cell (a store into shared memory).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from render.sources.audio_buffer import AudioBuffer
from render.sources.picking import LAG_WINDOW, FilePicker, Held, LivePicker
from render.sources.ring import RingView
from render.sources.spec import (
    AUDIO_CHANNELS,
    AUDIO_RATE,
    AudioChunk,
    SourceFrame,
    SourceSpec,
    SourceStatus,
)

OPENING, PLAYING, CONNECTING, LIVE, ERROR = "opening", "playing", "connecting", "live", "error"
INFO_FIELDS = ("width", "height", "fps", "codec", "audio", "duration")
# About 11 s of 1024-sample chunks: what a source whose sound nobody reads keeps.
AUDIO_INBOX = 512
# The most samples one chunk may bring (a second), and one read may ask.
MOST_SAMPLES = AUDIO_RATE
# A read continues the previous one when it starts this close to where that one ended:
# files (rounding) and live inputs (the jitter buffer's instant moves with the clock and lags).
FILE_SNAP = AUDIO_RATE * 2 // 1000
LIVE_SNAP = AUDIO_RATE * 40 // 1000


class Source:
    """One source, across the processes started for it."""

    def __init__(self, key: str, spec: SourceSpec, now: float) -> None:
        self.key = key
        self.spec = spec
        # Supervisor -> render thread: Held frames, ("restart", number), ("ended", epoch).
        self._inbox: collections.deque[Held | tuple[str, int]] = collections.deque()
        # Supervisor -> render thread: the sound, bounded (appends drop the oldest).
        self._sound_inbox: collections.deque[AudioChunk] = collections.deque(
            maxlen=AUDIO_INBOX)
        # Render thread (and sync) -> supervisor: commands for the process.
        self._requests: collections.deque[tuple[Any, ...]] = collections.deque()
        # The render thread's own.
        self._picker: FilePicker | LivePicker = (
            FilePicker(now) if spec.kind == "file" else LivePicker())
        self._sound = AudioBuffer()
        # Writes the current process's `played` cell (set by the supervisor; any thread).
        self._play: Callable[[float], None] = lambda seconds: None
        # The supervisor's own; other threads read `_status` and `_decoded`, each replaced
        # whole.
        self._state = OPENING if spec.kind == "file" else CONNECTING
        self._info: dict[str, Any] = {}
        self._error: str | None = None
        self._restarts = 0
        self._ended = False  # a file that does not loop reported its end (since the last seek)
        self._seek_epoch = 0  # the epoch of the last seek sent
        self._process = 0  # the number of the current process (1 for the first)
        self._seq = 0
        self._ring: RingView | None = None  # the current process's newest ring
        self._status = self._make_status()
        # When the current process last decoded a frame, and the latest of the earlier ones.
        self._decoded: Callable[[], float | None] = lambda: None
        self._decoded_before: float | None = None

    # ---- the render thread --------------------------------------------------------------

    def frame(self, position: float | None, now: float) -> tuple[SourceFrame | None, bool]:
        """The frame to show at `position` (files) or now (live), and whether a request for
        the process is waiting (the supervisor should be woken)."""
        picker = self._picker
        self._take_inbox(now)
        _release(picker.pick(position, now))
        shown = picker.shown
        return (shown.frame if shown else None), self._take_seek()

    def audio(self, position: float | None, count: int, now: float
              ) -> tuple[np.ndarray | None, bool]:
        """`count` samples from timeline time `position` (files) or from the live picker's
        instant (live: position None), None while there is no sound; and whether a request
        for the process is waiting. An audio-only file seeks by these reads."""
        picker, sound = self._picker, self._sound
        self._take_inbox(now)
        inbox = self._sound_inbox
        if isinstance(picker, LivePicker):
            # What came before the last LAG_WINDOW (the sound of an input nobody heard) is
            # behind what is on air: dropped unlooked-at.
            while inbox and inbox[0].arrived_at < now - LAG_WINDOW:
                inbox.popleft()
            while inbox:
                chunk = inbox.popleft()
                if picker.hear(chunk):
                    sound.add(chunk)
            picker.listen(now, count / AUDIO_RATE)
            start = picker.position(now)
            if start is None or picker.epoch is None or not sound.heard:
                return None, False
            return sound.read(picker.epoch, start, count, LIVE_SNAP, late=True), False
        while inbox:
            sound.add(inbox.popleft())
        if position is None:
            return None, False
        if self.spec.audio_only:
            _release(picker.follow(position, now, sound.span(picker.epoch)))
            self._play(position + count / AUDIO_RATE)
        waiting = self._take_seek()
        if not sound.heard:
            return None, waiting
        return sound.read(picker.epoch, position, count, FILE_SNAP), waiting

    def resize(self, spec: SourceSpec) -> None:
        """Scale to the box of `spec` (the same source otherwise) from the next frame on."""
        self.spec = spec
        self._requests.append(("box", spec.width, spec.height))

    def status(self) -> SourceStatus:
        """What the source's processes said, and what the supervisor found (any thread)."""
        status = self._status
        decoded = [t for t in (self._decoded(), self._decoded_before) if t is not None]
        if not decoded:
            return status
        return replace(status, last_frame_at=max(decoded))

    def _take_inbox(self, now: float) -> None:
        """Move what the supervisor reported into the picker."""
        picker = self._picker
        while self._inbox:
            item = self._inbox.popleft()
            if isinstance(item, Held):
                _release(picker.add(item))
            elif item[0] == "restart":
                picker.restarted(now)  # what the old process sent died with its slots
            elif isinstance(picker, FilePicker):
                picker.ended(item[1])

    def _take_seek(self) -> bool:
        """Queue the seek the picker asked for, if any; whether it did."""
        picker = self._picker
        if isinstance(picker, FilePicker) and picker.seek is not None:
            seek, picker.seek = picker.seek, None
            self._requests.append(("seek", *seek))
            return True
        return False

    # ---- the supervisor thread ----------------------------------------------------------

    def started(self, decoded: Callable[[], float | None],
                play: Callable[[float], None]) -> int:
        """A new process is starting (`decoded()` reads when it last decoded, `play(seconds)`
        writes how far its sound was read); its number."""
        if self._process:
            self._restarts += 1
        self._decoded_before = self.status().last_frame_at
        self._decoded = decoded
        self._play = play
        self._ended, self._seek_epoch = False, 0
        self._process += 1
        self._inbox.append(("restart", self._process))
        self._ring = None
        self._requests.clear()  # the new process is started with the current box
        self._state = OPENING if self.spec.kind == "file" else CONNECTING
        self._publish()
        return self._process

    def add_ring(self, ring: RingView) -> None:
        """The current process made a new ring and is done with its earlier ones (frames of
        those still held keep their own mapping)."""
        self._ring = ring

    def receive(self, message: tuple[Any, ...]) -> None:
        """Apply a report of the current process (all but "ring", see add_ring)."""
        kind = message[0]
        if kind == "frame":
            self._add_frame(*message[1:])
        elif kind == "audio":
            self._add_sound(*message[1:])
        elif kind == "ended":
            self._inbox.append(("ended", message[1]))
            if message[1] >= self._seek_epoch:
                self._ended = True
                self._publish()
        else:
            if kind == "info":
                self._info = {name: message[1].get(name) for name in INFO_FIELDS}
            elif kind == "state":
                self._state, self._error = message[1], message[2]
            elif kind == "error":
                self._state, self._error = ERROR, message[1]
            self._publish()

    def failed(self, error: str) -> None:
        """The process died or was killed; `error` says why, until the next one does better."""
        self._error = error
        self._publish()

    def take_requests(self) -> list[tuple[Any, ...]]:
        """Commands for the current process, in order."""
        taken = []
        while self._requests:
            taken.append(self._requests.popleft())
            if taken[-1][0] == "seek":
                self._seek_epoch, self._ended = taken[-1][1], False
                self._publish()
        return taken

    def _add_frame(self, ring: int, slot: int, epoch: int, seconds: float,
                   decoded_at: float) -> None:
        view = self._ring
        if view is None or view.number != ring or not 0 <= slot < len(view.slots):
            return
        self._seq += 1
        frame = SourceFrame(self._seq, view.slots[slot], seconds, decoded_at)
        self._inbox.append(Held(frame, view, slot, epoch))
        if self._state == OPENING:
            self._state, self._error = PLAYING, None
            self._publish()

    def _add_sound(self, epoch: int, seconds: float, data: bytes) -> None:
        if not isinstance(data, bytes) or not math.isfinite(seconds):
            return
        count = len(data) // (4 * AUDIO_CHANNELS)
        if not 0 < count <= MOST_SAMPLES or len(data) != count * 4 * AUDIO_CHANNELS:
            return
        samples = np.frombuffer(data, np.float32).reshape(count, AUDIO_CHANNELS)
        self._sound_inbox.append(AudioChunk(self._process, epoch, round(seconds * AUDIO_RATE),
                                            samples, time.monotonic()))
        if self._state == OPENING and self.spec.audio_only:
            self._state, self._error = PLAYING, None
            self._publish()

    def _publish(self) -> None:
        self._status = self._make_status()

    def _make_status(self) -> SourceStatus:
        info = self._info
        return SourceStatus(
            state=self._state, width=info.get("width"), height=info.get("height"),
            fps=info.get("fps"), codec=info.get("codec"), audio=bool(info.get("audio")),
            duration=info.get("duration"), error=self._error, last_frame_at=None,
            restarts=self._restarts, ended=self._ended)


def _release(held: list[Held]) -> None:
    """Hand the slots of frames no longer needed back to their processes."""
    for each in held:
        each.ring.release(each.slot)
