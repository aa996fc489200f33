"""Scene takes that fade or wipe: for `durationMs` after the take, the program is the one on
air just before it (the outgoing layers, frozen as they were drawn) giving way to the layers
after it, with p going linearly from 0 to 1 over that time:

- fade: each frame is (1 - p) * outgoing + p * incoming, per sample (of the I420 planes the
  render worker composites in: the same blend as in RGB, the conversion being linear);
- wipe: a vertical edge at x = p * width moves left to right, the incoming program left of it
  and the outgoing one right of it (the edge on an even x, so it falls between two chroma
  samples);
- sound: the mixer hears both: layers only in the outgoing program at (1 - p) of their
  volume, layers only in the incoming one at p.

The outgoing program is drawn by a second compositor that shares the render worker's sources
without syncing them, starting from the main compositor's tiles (its layers were just drawn
there, so nothing is drawn again). The main compositor keeps the outgoing-only layers'
sources running until the end (`also_sourced`); a layer in both (same id) keeps its one
source, so it plays on without a restart. At the end the second compositor and its caches
are dropped.

Costs a frame: the outgoing program's compose (the same array again while nothing in it
moves) and one blend of the two frames.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.layers import Layer
from core.layers.sound import SoundingContent
from render.compositor import Compositor
from render.layers.planar import i420_planes
from render.scene import Take
from render.sources import Sources
from render.sources.spec import PixelFormat


class TakeTransition:
    """The fade or wipe of the latest take, for the render thread."""

    def __init__(self, width: int, height: int, media_root: Path, sources: Sources,
                 frame_format: PixelFormat) -> None:
        self._size = (width, height)
        self._media_root = media_root
        self._sources = sources
        self._frame_format = frame_format
        self._take: Take | None = None
        self._start: float | None = None
        self._outgoing: Compositor | None = None
        self._outgoing_ids: set[str] = set()
        # The outgoing-only layers for the last incoming list seen (by identity).
        self._only: tuple[list[Layer] | None, list[Layer]] = (None, [])

    def begin(self, take: Take, compositor: Compositor) -> None:
        """Fade or wipe from `take.outgoing`, which `compositor` drew last."""
        width, height = self._size
        outgoing = Compositor(width, height, self._media_root, sources=self._sources,
                              frame_format=self._frame_format, syncs_sources=False)
        outgoing.share_tiles(compositor)
        self._take, self._start, self._outgoing = take, take.start, outgoing
        self._outgoing_ids = {layer.id for layer in take.outgoing}
        self._only = (None, [])

    def end(self) -> None:
        """Drop the transition and what it drew with."""
        self._take, self._outgoing, self._only = None, None, (None, [])

    def compose(self, compositor: Compositor, layers: list[Layer], chat: list[dict[str, Any]],
                now: float) -> np.ndarray:
        """The program's picture at `now`: the layers composited by `compositor`, blended with
        the outgoing program while a transition runs."""
        take, outgoing = self._take, self._outgoing
        if take is None or outgoing is None:
            return compositor.compose(layers, chat, now)
        progress = self.progress(now)
        if progress >= 1.0:
            self.end()
            return compositor.compose(layers, chat, now)
        incoming = compositor.compose(layers, chat, now, also_sourced=self._outgoing_only(layers))
        old = outgoing.compose(take.outgoing, chat, now)
        if take.cut.type == "wipe":
            return wipe(old, incoming, progress, self._frame_format == "yuv420p")
        return fade(old, incoming, progress)

    def heard(self, layers: list[Layer], now: float) -> list[Layer]:
        """The layers the mixer hears at `now`: both programs' while a transition runs, each
        side's own layers at its share of their volume."""
        if self._take is None:
            return layers
        progress = self.progress(now)
        incoming = [layer if layer.id in self._outgoing_ids else _at_volume(layer, progress)
                    for layer in layers]
        return incoming + [_at_volume(layer, 1.0 - progress)
                           for layer in self._outgoing_only(layers)]

    def progress(self, now: float) -> float:
        """How far the transition is at `now`, 0-1 (it starts on the first frame asking)."""
        if self._take is None:
            return 1.0
        if self._start is None:
            self._start = now
        return min(1.0, max(0.0, (now - self._start) / (self._take.cut.duration_ms / 1000)))

    def _outgoing_only(self, layers: list[Layer]) -> list[Layer]:
        """The outgoing layers not among `layers` (the same list object while `layers` is, so
        the compositor's sources are not synced anew each frame)."""
        seen, only = self._only
        if layers is not seen and self._take is not None:
            ids = {layer.id for layer in layers}
            only = [layer for layer in self._take.outgoing if layer.id not in ids]
            self._only = (layers, only)
        return only


def fade(old: np.ndarray, new: np.ndarray, progress: float) -> np.ndarray:
    """(1 - progress) * old + progress * new, a new array."""
    return cv2.addWeighted(old, 1.0 - progress, new, progress, 0.0)


def wipe(old: np.ndarray, new: np.ndarray, progress: float, planar: bool) -> np.ndarray:
    """`new` left of an edge at progress * width (an even x), `old` right of it; `planar`: the
    frames are I420."""
    edge = int(progress * new.shape[1]) // 2 * 2
    frame = new.copy()
    sides = (zip((0, 1, 1), i420_planes(frame), i420_planes(old), strict=True) if planar
             else [(0, frame, old)])
    for shift, target, source in sides:
        target[:, edge >> shift:] = source[:, edge >> shift:]
    return frame


def _at_volume(layer: Layer, share: float) -> Layer:
    """`layer` at `share` of its volume (layers without sound as they are)."""
    content = layer.content
    if not isinstance(content, SoundingContent):
        return layer
    return replace(layer, content=replace(content, volume=content.volume * share))
