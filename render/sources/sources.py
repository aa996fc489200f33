"""The render thread's handle on every source: which run (`sync`), what to show (`frame`),
what to hear (`audio`) and what they report (`status`); see render.sources.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from render.sources.source import MOST_SAMPLES, Source
from render.sources.spec import SourceFrame, SourceSpec, SourceStatus
from render.sources.supervisor import Supervisor

LAYERS = "layers"


class Sources:
    """The render worker's sources by key (a layer id, a bed track's). `sync`, `frame`,
    `audio` and `status` are for the render thread and never wait: starting, stopping and
    watching processes is the supervisor thread's work."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}
        self._groups: dict[str, dict[str, SourceSpec]] = {}  # group -> what it wants
        self._supervisor = Supervisor()

    def sync(self, wanted: Mapping[str, SourceSpec], group: str = LAYERS) -> None:
        """Run exactly the sources in `wanted` among those of `group` (the compositor's
        "layers", the bed's "bed": each group's sources are left alone by the others' syncs;
        a key belongs to one group). Cheap when nothing changed. A source whose box changed
        is told so and keeps running; one whose file, URL, loop or kind changed is started
        again (its last picture stays until the new process sends one)."""
        had = self._groups.get(group, {})
        if wanted == had:
            return
        for key in wanted:
            if key not in had and key in self._sources:
                raise ValueError(f"source {key!r} belongs to another group than {group!r}")
        if not self._supervisor.is_alive():
            # Started with the first source: a compositor that never shows a video or an
            # input runs no thread for them.
            self._supervisor.start()
        now = time.monotonic()
        for key, spec in wanted.items():
            source = self._sources.get(key)
            if source is None or source.spec.kind != spec.kind:
                if source is not None:
                    self._supervisor.remove(source)
                self._sources[key] = source = Source(key, spec, now)
                self._supervisor.add(source)
            elif source.spec != spec:
                if _same_but_box(source.spec, spec):
                    source.resize(spec)
                    self._supervisor.wake()
                else:
                    source.spec = spec
                    self._supervisor.restart(source)
        for key in [key for key in had if key not in wanted]:
            self._supervisor.remove(self._sources.pop(key))
        if wanted:
            self._groups[group] = dict(wanted)
        else:
            self._groups.pop(group, None)

    def frame(self, key: str, position: float | None) -> SourceFrame | None:
        """Files: the frame whose time covers `position` (timeline seconds), asking the
        process to seek when the position jumps back or far ahead. Live inputs (position
        None): the newest frame due through the jitter buffer. None until a frame arrived.
        The image stays valid until a later call for this key returns another seq."""
        source = self._sources.get(key)
        if source is None:
            return None
        frame, waiting = source.frame(position, time.monotonic())
        if waiting:
            self._supervisor.wake()
        return frame

    def audio(self, key: str, position: float | None, count: int) -> np.ndarray | None:
        """`count` samples of the source's sound, (count, 2) float32 at 48 kHz, new each call:
        files from timeline time `position` (an audio-only file asks its process to seek
        when the position jumps, like `frame` does for pictures), live inputs (position None)
        from the instant their pictures are picked for, so sound stays on its picture. A read
        within a few ms of where the previous one ended (2 ms files, 40 ms live) continues
        exactly from there. Missing samples are zeros. None when the source has no sound (no
        audio stream, not synced, nothing arrived yet) and for a `count` outside 1-48000."""
        source = self._sources.get(key)
        if source is None or not 0 < count <= MOST_SAMPLES:
            return None
        samples, waiting = source.audio(position, count, time.monotonic())
        if waiting:
            self._supervisor.wake()
        return samples

    def status(self, key: str) -> SourceStatus | None:
        """What the source's process reported (None for a key not synced)."""
        source = self._sources.get(key)
        return source.status() if source is not None else None

    def close(self) -> None:
        """Kill every process and free every shared-memory segment."""
        self._supervisor.stop()
        self._supervisor.kill_all()
        self._sources.clear()
        self._groups = {}


def _same_but_box(old: SourceSpec, new: SourceSpec) -> bool:
    return ((old.kind, old.location, old.loop, old.revision, old.pixel_format, old.audio_only)
            == (new.kind, new.location, new.loop, new.revision, new.pixel_format,
                new.audio_only))
