"""The compositor: stored layers in, one frame out, doing as little work as it can.

Semantics (the model is core.layers.Layer; each type's content is in core/layers/types/):

- The frame is width x height, BGR uint8, black where no layer draws. A compositor built with
  frame_format "yuv420p" (the render worker's) makes I420 frames instead, the encoder's
  format, blending every tile into the Y, U and V planes (render.layers.planar): video and
  input pictures then come from their sources in I420 and are used as they are, so no colour
  conversion of the whole frame is left, in the source process or before the encoder.
- Layers arrive sorted bottom to top; invisible ones are skipped. A layer's box has its
  top-left at transform x, y in output pixels and may lie partly or wholly off the frame (it
  is clipped). width/height null = the content's natural size. `scale`, `rotation` and
  `opacity` are applied as described in render.layers.placement; each type's content is
  described in its module under render.layers.
- Blending is premultiplied "over" (render.layers.blend, render.layers.planar), accurate to
  about 1 per channel.

Work avoided, because a frame at 30 fps has a budget of milliseconds:

- Each layer is rasterised once into a Tile, cached under everything that decides its pixels
  except its position (type, content, box, scale, rotation, opacity; the file for images,
  the formatted string for clocks, the messages shown for chat). Moving a layer reuses it.
- If no tile, position, visibility or order changed, `compose` returns the very same array
  as last time. Otherwise a private composite of the unchanged bottom layers is kept, and
  only the layers from the first changed one upwards are blended onto a copy of it.
- A returned array is never written again, so other threads may read it at leisure.

Problems with a layer (a missing image, a layer too large to draw) never raise: the layer
shows a placeholder or nothing, and `errors` names the problem until it is fixed.

Video and input layers are decoded by source processes (render.sources), which the compositor
keeps in step with the layers: on every change of the layer list, and once a second (a file
replaced in the library), it tells them which sources the layers need, hidden layers included
(an input stays connected while hidden, so showing it is instant). `release_sources` ends them
all, for a render worker that stopped drawing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.layers import Layer
from render.layers import build_renderers
from render.layers.base import FrameInput, LayerError, LayerRenderer, RenderContext, Tile
from render.layers.blend import blend, clip
from render.layers.fonts import Fonts
from render.layers.placement import make_tile, scaled_box
from render.layers.planar import blend_planar, fill_black, new_frame
from render.sources import Sources
from render.sources.spec import PixelFormat

log = logging.getLogger(__name__)

SOURCE_RECHECK_SECONDS = 1.0

# (layer id, tile, x, y) of one layer as drawn; tiles compare by identity.
Placed = tuple[str, Tile, int, int]


@dataclass(frozen=True)
class _Cached:
    key: tuple[Any, ...]
    tile: Tile
    error: str | None


class Compositor:
    """Composites stored layers into BGR (or I420) frames of a fixed size; one thread owns it."""

    def __init__(self, width: int, height: int, media_root: Path,
                 on_raster: Callable[[str, float], None] | None = None,
                 sources: Sources | None = None, frame_format: PixelFormat = "bgr24") -> None:
        self.width = width
        self.height = height
        # The source processes of video and input layers (a benchmark passes its own, to see
        # which frame each compose picked).
        self._sources = sources if sources is not None else Sources()
        self._renderers = build_renderers(
            RenderContext(width, height, media_root, Fonts(), self._sources, frame_format))
        self._planar = frame_format == "yuv420p"
        self._blend = blend_planar if self._planar else blend
        # The layer list the sources were last synced to, and when (epoch seconds).
        self._synced: tuple[list[Layer] | None, float] = (None, 0.0)
        self._tiles: dict[str, _Cached] = {}
        self._errors: dict[str, str] = {}
        self._raster_seconds: dict[str, float] = {}
        self._raster_counts: dict[str, int] = {}
        # Told the layer type and seconds of every rasterisation (the render metrics).
        self._on_raster = on_raster
        self._frame: np.ndarray | None = None
        self._placed: list[Placed] = []
        # The bottom layers that stayed put, already composited; never handed out.
        self._base = new_frame(width, height) if self._planar else np.empty(
            (height, width, 3), np.uint8)
        self._base_placed: list[Placed] = []

    @property
    def errors(self) -> dict[str, str]:
        """Layer id -> what is wrong with it, for visible layers with a problem right now."""
        return self._errors

    @property
    def raster_seconds(self) -> dict[str, float]:
        """Layer id -> seconds its last rasterisation took, for the layers that exist."""
        return dict(self._raster_seconds)

    @property
    def sources(self) -> Sources:
        """The source processes (the program audio reads the same layers' sound)."""
        return self._sources

    @property
    def source_states(self) -> dict[str, dict[str, Any]]:
        """Layer id -> the state of its source (video and input layers; any thread)."""
        states: dict[str, dict[str, Any]] = {}
        for renderer in self._renderers.values():
            states.update(renderer.source_states())
        return states

    def release_sources(self) -> None:
        """End every source process (they start again with the next `compose`)."""
        self._sources.sync({})
        self._synced = (None, 0.0)

    def close(self) -> None:
        """End every source process and free what they share with this process."""
        self._sources.close()

    @property
    def raster_counts(self) -> dict[str, int]:
        """Layer type -> how many times layers of that type were rasterised so far."""
        return dict(self._raster_counts)

    def compose(self, layers: list[Layer], chat: list[dict[str, Any]],
                now: float) -> np.ndarray:
        """The frame for `layers` (bottom to top), `chat` (oldest first) at epoch `now`.

        Returns the previous array itself when nothing visible changed, else a new one.
        """
        self._sync_sources(layers, now)
        frame = FrameInput(now, chat)
        placed: list[Placed] = []
        errors: dict[str, str] = {}
        for layer in layers:
            if not layer.visible:
                continue
            cached = self._tile_for(layer, frame)
            if cached.error is not None:
                errors[layer.id] = cached.error
            tile = cached.tile
            x = layer.transform.x + tile.dx
            y = layer.transform.y + tile.dy
            if not tile.empty and clip(tile, x, y, self.width, self.height) is not None:
                placed.append((layer.id, tile, x, y))
        self._forget_deleted(layers)
        for renderer in self._renderers.values():
            renderer.end_frame()
        self._errors = errors
        return self._render(placed)

    def _sync_sources(self, layers: list[Layer], now: float) -> None:
        """Tell the sources which layers need one, when the layers changed or a second passed."""
        synced, at = self._synced
        if layers is synced and abs(now - at) < SOURCE_RECHECK_SECONDS:
            return
        wanted = {}
        for name, renderer in self._renderers.items():
            wanted.update(renderer.source_specs([lyr for lyr in layers if lyr.type == name], now))
        self._sources.sync(wanted)
        self._synced = (layers, now)

    def _tile_for(self, layer: Layer, frame: FrameInput) -> _Cached:
        """The layer's cached tile, rasterised again only when its key changed."""
        renderer = self._renderers.get(layer.type)
        if renderer is None:
            return _Cached((), _EMPTY, f"layer type {layer.type!r} cannot be drawn here")
        transform = layer.transform
        drawn = renderer.drawn(layer)
        key = (
            layer.type, renderer.content_key(drawn, frame), transform.width,
            transform.height, transform.scale, transform.rotation, layer.opacity,
        )
        cached = self._tiles.get(layer.id)
        if cached is None or cached.key != key:
            started = time.perf_counter()
            tile, error = self._rasterise(renderer, layer, drawn, frame)
            kind, seconds = layer.type, time.perf_counter() - started
            self._raster_seconds[layer.id] = seconds
            self._raster_counts[kind] = self._raster_counts.get(kind, 0) + 1
            if self._on_raster is not None:
                self._on_raster(kind, seconds)
            cached = self._tiles[layer.id] = _Cached(key, tile, error)
        return cached

    def _rasterise(self, renderer: LayerRenderer[Any], layer: Layer, drawn: Any,
                   frame: FrameInput) -> tuple[Tile, str | None]:
        """A fresh tile for the layer and the problem, if any, it has."""
        box = scaled_box(layer.transform)
        opacity, rotation = layer.opacity, layer.transform.rotation
        try:
            pixels = renderer.rasterise(drawn, frame, box)
            return make_tile(pixels, opacity, rotation), None
        except LayerError as exc:
            error = str(exc)
        # The stream must go on whatever one layer holds; the log keeps the traceback.
        except Exception:
            log.exception("layer %s (%s) could not be drawn", layer.id, layer.type)
            error = "layer could not be drawn (see the render log)"
        try:
            return make_tile(renderer.placeholder(drawn, box, error), opacity, rotation), error
        except LayerError:
            return _EMPTY, error

    def _forget_deleted(self, layers: list[Layer]) -> None:
        """Drop the tiles of layers that no longer exist (hidden ones keep theirs)."""
        stale = self._tiles.keys() - {layer.id for layer in layers}
        for layer_id in stale:
            del self._tiles[layer_id]
            self._raster_seconds.pop(layer_id, None)

    def _render(self, placed: list[Placed]) -> np.ndarray:
        """The frame for `placed`: the previous one if identical, else recomposited."""
        if self._frame is not None and placed == self._placed:
            return self._frame
        start = self._update_base(placed, _common_prefix(placed, self._placed))
        frame = self._base.copy() if start else self._cleared(np.empty_like(self._base), placed)
        for _, tile, x, y in placed[start:]:
            self._blend(frame, tile, x, y)
        self._frame, self._placed = frame, placed
        return frame

    def _update_base(self, placed: list[Placed], unchanged: int) -> int:
        """Make the base hold a bottom prefix of `placed`, at least its `unchanged` layers.

        Returns how many layers the base holds; its pixels mean nothing while that is 0.
        """
        held = _common_prefix(placed, self._base_placed)
        if held < len(self._base_placed):
            # Something the base holds moved, changed or went away: start again.
            held = 0
        if held == 0 and unchanged:
            self._cleared(self._base, placed)
        for _, tile, x, y in placed[held:unchanged]:
            self._blend(self._base, tile, x, y)
        self._base_placed = placed[:max(held, unchanged)]
        return len(self._base_placed)

    def _cleared(self, target: np.ndarray, placed: list[Placed]) -> np.ndarray:
        """`target` made black to composite `placed` onto, unless the bottom layer hides it all."""
        if placed and self._covers(placed[0]):
            return target
        if self._planar:
            return fill_black(target)
        target.fill(0)
        return target

    def _covers(self, entry: Placed) -> bool:
        """Whether an opaque tile hides the whole frame."""
        _, tile, x, y = entry
        # In YUV a tile at an odd place gets a transparent edge (render.layers.planar).
        return (tile.inverse is None and x <= 0 and y <= 0
                and x + tile.width >= self.width and y + tile.height >= self.height
                and not (self._planar and (x % 2 or y % 2)))


def _common_prefix(a: list[Placed], b: list[Placed]) -> int:
    """How many leading entries `a` and `b` share."""
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count


_EMPTY = Tile(np.zeros((1, 1, 3), np.uint8), None, empty=True)
