"""The render worker's side of one source: what its processes reported and the frames it holds.

The render thread calls `frame` and `status`; the supervisor thread feeds in the reports of
the source's process and takes the commands for it. One lock guards the state and is held for
in-memory work only, never around a pipe or a process.
"""

from __future__ import annotations

import threading
from typing import Any

from render.sources.picking import FilePicker, Held, LivePicker
from render.sources.ring import RingView
from render.sources.spec import SourceFrame, SourceSpec, SourceStatus

OPENING, PLAYING, CONNECTING, LIVE, ERROR = "opening", "playing", "connecting", "live", "error"
INFO_FIELDS = ("width", "height", "fps", "codec", "audio", "duration")


class Source:
    """One source, across the processes started for it."""

    def __init__(self, key: str, spec: SourceSpec, now: float) -> None:
        self.key = key
        self.spec = spec
        self._lock = threading.Lock()
        self._picker: FilePicker | LivePicker = (
            FilePicker(now) if spec.kind == "file" else LivePicker())
        self._state = OPENING if spec.kind == "file" else CONNECTING
        self._info: dict[str, Any] = {}
        self._error: str | None = None
        self._last_frame_at: float | None = None
        self._restarts = 0
        self._seq = 0
        self._process = 0  # the number of the current process (1 for the first)
        self._rings: dict[int, RingView] = {}
        self._outbox: list[tuple[Any, ...]] = []

    # ---- the render thread --------------------------------------------------------------

    def frame(self, position: float | None, now: float) -> tuple[SourceFrame | None, bool]:
        """The frame to show at `position` (files) or now (live), and whether commands for
        the process are waiting (the supervisor should be woken)."""
        with self._lock:
            self._release(self._picker.pick(position, now))
            if isinstance(self._picker, FilePicker) and self._picker.seek is not None:
                # Only the newest seek matters; one not sent yet is replaced.
                self._outbox = [c for c in self._outbox if c[0] != "seek"]
                self._outbox.append(("seek", *self._picker.seek))
                self._picker.seek = None
            shown = self._picker.shown
            return (shown.frame if shown else None), bool(self._outbox)

    def status(self) -> SourceStatus:
        """What the source's processes said, and what the supervisor found."""
        with self._lock:
            info = self._info
            return SourceStatus(
                state=self._state, width=info.get("width"), height=info.get("height"),
                fps=info.get("fps"), codec=info.get("codec"), audio=bool(info.get("audio")),
                duration=info.get("duration"), error=self._error,
                last_frame_at=self._last_frame_at, restarts=self._restarts)

    # ---- the supervisor thread ----------------------------------------------------------

    def started(self, now: float) -> int:
        """A new process is starting; its number."""
        with self._lock:
            if self._process:
                self._restarts += 1
            self._process += 1
            self._picker.restarted(now)  # the old process's slots died with it
            self._rings = {}
            self._outbox = []  # the new process is started with the current box
            self._state = OPENING if self.spec.kind == "file" else CONNECTING
            return self._process

    def resize(self, spec: SourceSpec) -> None:
        """Scale to the box of `spec` (the same source otherwise) from the next frame on."""
        with self._lock:
            self.spec = spec
            self._outbox.append(("box", spec.width, spec.height))

    def add_ring(self, ring: RingView) -> None:
        """The current process made a new ring (mapped by the caller, outside the lock)."""
        with self._lock:
            self._rings[ring.number] = ring

    def receive(self, message: tuple[Any, ...]) -> None:
        """Apply a report of the current process (all but "ring", see add_ring)."""
        kind = message[0]
        with self._lock:
            if kind == "frame":
                self._add_frame(*message[1:])
            elif kind == "info":
                self._info = {name: message[1].get(name) for name in INFO_FIELDS}
            elif kind == "state":
                self._state, self._error = message[1], message[2]
            elif kind == "ended" and isinstance(self._picker, FilePicker):
                self._picker.ended(message[1])
            elif kind == "error":
                self._state, self._error = ERROR, message[1]

    def failed(self, error: str) -> None:
        """The process died or was killed; `error` says why, until the next one does better."""
        with self._lock:
            self._error = error

    def take_commands(self) -> list[tuple[Any, ...]]:
        """Commands for the current process, in order."""
        with self._lock:
            commands, self._outbox = self._outbox, []
            return commands

    # ---- inside the lock ------------------------------------------------------------------

    def _add_frame(self, ring: int, slot: int, epoch: int, seconds: float,
                   decoded_at: float) -> None:
        view = self._rings.get(ring)
        if view is None or not 0 <= slot < len(view.slots):
            return
        self._seq += 1
        frame = SourceFrame(self._seq, view.slots[slot], seconds, decoded_at)
        self._release(self._picker.add(Held(frame, self._process, ring, slot, epoch)))
        self._last_frame_at = decoded_at
        if self._state == OPENING:
            self._state, self._error = PLAYING, None

    def _release(self, held: list[Held]) -> None:
        for each in held:
            if each.process == self._process:  # an old process's slots died with it
                self._outbox.append(("free", each.ring, each.slot))
