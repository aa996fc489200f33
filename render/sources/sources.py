"""The render thread's handle on every source: which run (`sync`), what to show (`frame`) and
what they report (`status`); see render.sources.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from render.sources.source import Source
from render.sources.spec import SourceFrame, SourceSpec, SourceStatus
from render.sources.supervisor import Supervisor


class Sources:
    """The render worker's sources by key (a layer id). `sync`, `frame` and `status` are for
    the render thread and never wait: starting, stopping and watching processes is the
    supervisor thread's work."""

    def __init__(self) -> None:
        self._sources: dict[str, Source] = {}
        self._wanted: dict[str, SourceSpec] = {}
        self._supervisor = Supervisor()

    def sync(self, wanted: Mapping[str, SourceSpec]) -> None:
        """Run exactly the sources in `wanted`. Cheap when nothing changed. A source whose
        box changed is told so and keeps running; one whose file, URL or loop changed is
        started again (its last picture stays until the new process sends one)."""
        if wanted == self._wanted:
            return
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
        for key in [key for key in self._sources if key not in wanted]:
            self._supervisor.remove(self._sources.pop(key))
        self._wanted = dict(wanted)

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

    def status(self, key: str) -> SourceStatus | None:
        """What the source's process reported (None for a key not synced)."""
        source = self._sources.get(key)
        return source.status() if source is not None else None

    def close(self) -> None:
        """Kill every process and free every shared-memory segment."""
        self._supervisor.stop()
        self._supervisor.kill_all()
        self._sources.clear()
        self._wanted = {}


def _same_but_box(old: SourceSpec, new: SourceSpec) -> bool:
    return ((old.kind, old.location, old.loop, old.revision, old.pixel_format)
            == (new.kind, new.location, new.loop, new.revision, new.pixel_format))
