"""The music bed: a playlist of library audio files, one after another, on the render thread.

Each track is an audio-only file source (render.sources, group "bed") in a process of its own,
like a video layer's file: the render thread only reads decoded samples. The player decides
what plays: the play order (shuffled anew for each pass when `shuffle`), when the next
track's process starts (PREFETCH_SECONDS before it is needed, so it has decoded its first
seconds by then), the crossfade between tracks (equal power, `crossfadeMs`), and the
transport: play and pause fade in and out over FADE_SAMPLES; next, previous and restart fade
the track that was playing out over FADE_SAMPLES and start the other from its beginning.

A track's position moves only while its sound arrives: a process still starting delays the
track instead of skipping its first second.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.audio import Bed
from core.media import MediaPathError, resolve_source
from render.audio.gains import FADE_SAMPLES, RATE, apply_gain, ramp
from render.sources import Sources, SourceSpec

log = logging.getLogger(__name__)

GROUP = "bed"
PREFETCH_SECONDS = 5.0


@dataclass
class _Track:
    """One play of one playlist entry, with a source process of its own."""

    key: str
    name: str  # the playlist entry
    index: int  # its place in the playlist
    spec: SourceSpec
    position: int = 0  # samples played
    started: bool = False  # its sound has arrived


class BedPlayer:
    """Plays the bed's playlist; `read` gives each block's samples (render thread only)."""

    def __init__(self, sources: Sources, media_root: Path,
                 shuffler: random.Random | None = None) -> None:
        self._sources = sources
        self._media_root = media_root
        self._shuffler = shuffler or random.Random()
        self._settings = Bed()
        self._order: list[int] = []  # playlist indices in play order
        self._at = 0  # the current track's place in `_order`
        self._current: _Track | None = None
        self._next: _Track | None = None  # started ahead, then crossfading in
        self._leaving: list[tuple[_Track, int]] = []  # fading out: (track, samples left)
        self._cue: int | None = None
        self._serial = 0
        self._gain = 0.0  # the transport's fade (pause, play)
        self._finished = False  # the last track ended and the playlist does not loop
        # The current track's duration as the last block found it (a status read costs
        # 30 us: once a block is enough).
        self._shown_duration: float | None = None

    # ---- settings -----------------------------------------------------------------------

    def apply(self, bed: Bed) -> None:
        """Follow new settings: the playlist, the transport and a cue (next, previous,
        restart) that was not carried out yet."""
        old, self._settings = self._settings, bed
        if bed.playlist != old.playlist or bed.shuffle != old.shuffle or not self._order:
            self._new_playlist()
        if self._cue is not None and bed.cue != self._cue and bed.cue_action is not None:
            self._carry_out(bed.cue_action)
        self._cue = bed.cue

    def _new_playlist(self) -> None:
        playlist = self._settings.playlist
        self._order = self._shuffled(list(range(len(playlist))))
        self._finished = False
        current = self._current
        if current is not None and current.name in playlist:
            # What plays goes on: its place in the new order is where the next one is found.
            index = playlist.index(current.name)
            current.index = index
            self._at = self._order.index(index)
        else:
            self._at = 0
            self._switch(self._track_at(0))
        self._drop_next()

    def _shuffled(self, order: list[int]) -> list[int]:
        if self._settings.shuffle and len(order) > 1:
            self._shuffler.shuffle(order)
        return order

    def _carry_out(self, action: str) -> None:
        if self._finished:  # the playlist had ended: any action starts it over
            self._finished, self._at = False, 0
            action = "restart"
        if action == "restart":
            self._switch(self._track_at(self._at))
        elif action == "next":
            self._advance(1)
        elif action == "previous":
            self._advance(-1)

    def _advance(self, step: int) -> None:
        if not self._order:
            return
        place = self._at + step
        if place >= len(self._order):
            if not self._settings.loop:
                self._finished = True
                self._switch(None)
                return
            self._order = self._shuffled(list(range(len(self._settings.playlist))))
            place = 0
        place = max(0, place)
        self._at = place
        upcoming = self._next
        if step == 1 and upcoming is not None and upcoming.position == 0:
            self._next = None
            self._switch(upcoming)
        else:
            self._switch(self._track_at(place))

    def _switch(self, track: _Track | None) -> None:
        """Fade out what plays and play `track` from its start."""
        if self._current is not None:
            self._leaving.append((self._current, FADE_SAMPLES))
        self._current = track
        self._drop_next()

    def _drop_next(self) -> None:
        self._next = None

    def _track_at(self, place: int) -> _Track | None:
        if not 0 <= place < len(self._order):
            return None
        index = self._order[place]
        name = self._settings.playlist[index]
        try:
            path = resolve_source(self._media_root, name, "audio")
            status = path.stat()
        except (MediaPathError, OSError, RuntimeError) as exc:
            log.warning("bed track %r cannot play: %s", name, exc)
            return None
        self._serial += 1
        spec = SourceSpec("file", str(path), None, None, loop=False,
                          revision=(status.st_mtime_ns, status.st_size), audio_only=True)
        return _Track(f"bed{self._serial}", name, index, spec)

    def release(self) -> None:
        """Stop every track's process (another instance plays the bed now)."""
        self._current = self._next = None
        self._leaving = []
        self._sources.sync({}, group=GROUP)
        self._order = []

    # ---- each block ---------------------------------------------------------------------

    def read(self, count: int) -> np.ndarray:
        """The bed's next `count` samples ((count, 2) float32, before its volume)."""
        out = np.zeros((count, 2), np.float32)
        self._fade_out_leaving(out)
        current = self._current
        playing = self._settings.state == "playing" and current is not None
        target = 1.0 if playing else 0.0
        if current is not None and (self._gain > 0 or target > 0):
            gains = ramp(self._gain, target, count)
            self._play(current, out, gains, count)
            self._gain = target
        self._sync()
        return out

    def _play(self, current: _Track, out: np.ndarray, gains: np.ndarray | float,
              count: int) -> None:
        samples = self._take(current, count)
        if samples is None:
            return
        duration = self._duration(current)
        self._shown_duration = duration
        fade = self._crossfade(duration)
        left = math.inf if duration is None else duration * RATE - current.position
        if left <= fade + PREFETCH_SECONDS * RATE and self._next is None and \
                not self._finished:
            self._next = self._upcoming()
        if self._next is not None and left <= fade:
            # Equal-power crossfade: the current track goes as the next one comes.
            done = (fade - left + np.arange(count)) / max(fade, 1)
            done = np.clip(done, 0.0, 1.0)[:, None]
            out += apply_gain(samples * np.cos(done * math.pi / 2), gains)
            incoming = self._take(self._next, count)
            if incoming is not None:
                out += apply_gain(incoming * np.sin(done * math.pi / 2), gains)
        else:
            out += apply_gain(samples, gains)
        if left - count <= 0:
            self._track_ended()

    def _take(self, track: _Track, count: int) -> np.ndarray | None:
        """The track's next samples; its position moves only once its sound arrives."""
        samples = self._sources.audio(track.key, track.position / RATE, count)
        if samples is None:
            return None
        track.started = True
        track.position += count
        return samples

    def _track_ended(self) -> None:
        upcoming = self._next
        self._next = None
        self._at += 1
        if self._at >= len(self._order):
            if not self._settings.loop:
                self._finished = True
                self._current = None
                return
            self._order = self._shuffled(list(range(len(self._settings.playlist))))
            self._at = 0
        self._current = upcoming if upcoming is not None else self._track_at(self._at)

    def _upcoming(self) -> _Track | None:
        """The track after the current one (for its process to start ahead)."""
        place = self._at + 1
        if place < len(self._order):
            return self._track_at(place)
        if not self._settings.loop or not self._settings.playlist:
            return None
        # The next pass starts with the first of a new order: draw it now (the order keeps
        # only the current track of the pass that ends, so it never grows).
        self._order = [self._order[self._at], *self._shuffled(
            list(range(len(self._settings.playlist))))]
        self._at = 0
        return self._track_at(1)

    def _fade_out_leaving(self, out: np.ndarray) -> None:
        count = len(out)
        kept = []
        for track, left in self._leaving:
            samples = self._take(track, min(left, count)) if track.started else None
            if samples is not None:
                fade = np.linspace(left / FADE_SAMPLES, 0.0, len(samples), endpoint=False)
                out[:len(samples)] += samples * (fade * self._gain)[:, None]
                left -= len(samples)
            if left > 0 and track.started:
                kept.append((track, left))
        self._leaving = kept

    def _duration(self, track: _Track) -> float | None:
        status = self._sources.status(track.key)
        return status.duration if status is not None else None

    def _crossfade(self, duration: float | None) -> int:
        fade = self._settings.crossfade_ms * RATE // 1000
        if duration is not None:
            fade = min(fade, int(duration * RATE) // 2)  # a short track fades for half of it
        return fade

    def _sync(self) -> None:
        tracks = [self._current, self._next, *(track for track, _ in self._leaving)]
        self._sources.sync({track.key: track.spec for track in tracks if track is not None},
                           group=GROUP)

    # ---- reads --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What plays: state, track, its place in the playlist, position and duration."""
        current = self._current
        if current is None:
            return {"state": "stopped", "track": None, "index": None, "position": None,
                    "duration": None}
        return {"state": self._settings.state, "track": current.name, "index": current.index,
                "position": round(current.position / RATE, 3),
                "duration": self._shown_duration}

