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

- Each layer is rasterised once, cached under everything that decides its pixels except its
  position, opacity and rotation (type, content, box, scale; the file for images, the
  formatted string for clocks, the messages shown for chat). The Tile made from that raster
  (opacity and rotation applied, render.layers.placement) is cached beside it: moving a layer
  reuses its tile, and fading or turning it (a tween, render.tweens) only makes the tile
  again from the cached raster, without drawing the content anew.
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
all, for a render worker that stopped drawing. A compositor built with `syncs_sources=False`
draws from sources another compositor keeps (a scene take's outgoing program,
render.transition), and that one keeps the sources of the layers `compose` is given as
`also_sourced` running though it does not draw them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from core.layers import Layer
from render.layers import build_renderers
from render.layers.base import Box, FrameInput, LayerError, LayerRenderer, RenderContext, Tile
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
class _Raster:
    """A layer's content drawn into its box (None: it could not be, `error` says why), and
    what a placeholder needs."""

    key: tuple[Any, ...]
    pixels: np.ndarray | None
    error: str | None
    drawn: Any
    box: Box


@dataclass(frozen=True)
class _Cached:
    """The tile made from `raster` at `opacity` and `rotation`."""

    raster: _Raster | None
    opacity: float
    rotation: float
    tile: Tile
    error: str | None


class Compositor:
    """Composites stored layers into BGR (or I420) frames of a fixed size; one thread owns it."""

    def __init__(self, width: int, height: int, media_root: Path,
                 on_raster: Callable[[str, float], None] | None = None,
                 sources: Sources | None = None, frame_format: PixelFormat = "bgr24",
                 syncs_sources: bool = True) -> None:
        self.width = width
        self.height = height
        # The source processes of video and input layers (a benchmark passes its own, to see
        # which frame each compose picked).
        self._sources = sources if sources is not None else Sources()
        self._syncs_sources = syncs_sources
        self._renderers = build_renderers(
            RenderContext(width, height, media_root, Fonts(), self._sources, frame_format))
        self._planar = frame_format == "yuv420p"
        self._blend = blend_planar if self._planar else blend
        # The layer lists the sources were last synced to (drawn, also sourced), and when
        # (epoch seconds).
        self._synced: tuple[Sequence[Layer] | None, Sequence[Layer] | None, float] = (
            None, None, 0.0)
        self._rasters: dict[str, _Raster] = {}
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
        self._synced = (None, None, 0.0)

    def close(self) -> None:
        """End every source process and free what they share with this process."""
        self._sources.close()

    def share_tiles(self, other: Compositor) -> None:
        """Start from the rasters, tiles and last frame `other` holds, so the layers it drew
        last are neither drawn nor composited again here (a scene take's outgoing program,
        render.transition)."""
        self._rasters = dict(other._rasters)
        self._tiles = dict(other._tiles)
        # Frames handed out are never written again, so both may hand out this one.
        self._frame, self._placed = other._frame, list(other._placed)

    @property
    def raster_counts(self) -> dict[str, int]:
        """Layer type -> how many times layers of that type were rasterised so far."""
        return dict(self._raster_counts)

    def compose(self, layers: Sequence[Layer], chat: list[dict[str, Any]], now: float,
                also_sourced: Sequence[Layer] = ()) -> np.ndarray:
        """The frame for `layers` (bottom to top), `chat` (oldest first) at epoch `now`;
        the sources of `also_sourced` are kept running too.

        Returns the previous array itself when nothing visible changed, else a new one.
        """
        self._sync_sources(layers, also_sourced, now)
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

    def _sync_sources(self, layers: Sequence[Layer], also: Sequence[Layer], now: float) -> None:
        """Tell the sources which layers need one, when the layers changed or a second passed
        (a compositor that does not sync only lets its rasterisers know the layers)."""
        synced, synced_also, at = self._synced
        if layers is synced and also is synced_also and abs(now - at) < SOURCE_RECHECK_SECONDS:
            return
        wanted = {}
        for name, renderer in self._renderers.items():
            wanted.update(renderer.source_specs(
                [lyr for lyr in (*layers, *also) if lyr.type == name], now))
        if self._syncs_sources:
            self._sources.sync(wanted)
        self._synced = (layers, also, now)

    def _tile_for(self, layer: Layer, frame: FrameInput) -> _Cached:
        """The layer's cached tile, rasterised again only when its content or box changed, and
        made again from the cached raster when its opacity or rotation did."""
        renderer = self._renderers.get(layer.type)
        if renderer is None:
            return _Cached(None, 1.0, 0.0, _EMPTY,
                           f"layer type {layer.type!r} cannot be drawn here")
        transform = layer.transform
        drawn = renderer.drawn(layer)
        key = (layer.type, renderer.content_key(drawn, frame), transform.width,
               transform.height, transform.scale)
        raster = self._rasters.get(layer.id)
        started = None
        if raster is None or raster.key != key:
            started = time.perf_counter()
            raster = self._rasters[layer.id] = self._rasterise(renderer, layer, drawn, frame, key)
        cached = self._tiles.get(layer.id)
        opacity, rotation = layer.opacity, transform.rotation
        if (cached is None or cached.raster is not raster or cached.opacity != opacity
                or cached.rotation != rotation):
            cached = self._tiles[layer.id] = self._make_tile(renderer, layer, raster)
        if started is not None:
            # Only a real rasterisation counts (with the tile made from it).
            kind, seconds = layer.type, time.perf_counter() - started
            self._raster_seconds[layer.id] = seconds
            self._raster_counts[kind] = self._raster_counts.get(kind, 0) + 1
            if self._on_raster is not None:
                self._on_raster(kind, seconds)
        return cached

    def _rasterise(self, renderer: LayerRenderer[Any], layer: Layer, drawn: Any,
                   frame: FrameInput, key: tuple[Any, ...]) -> _Raster:
        """The layer's content drawn into its box, or the problem that kept it from it."""
        box = scaled_box(layer.transform)
        pixels, error = _attempt(lambda: renderer.rasterise(drawn, frame, box), layer)
        return _Raster(key, pixels, error, drawn, box)

    def _make_tile(self, renderer: LayerRenderer[Any], layer: Layer,
                   raster: _Raster) -> _Cached:
        """A tile from the raster at the layer's opacity and rotation, or the placeholder."""
        opacity, rotation = layer.opacity, layer.transform.rotation
        error = raster.error
        pixels = raster.pixels
        if pixels is not None:
            tile, error = _attempt(lambda: make_tile(pixels, opacity, rotation), layer)
            if tile is not None:
                return _Cached(raster, opacity, rotation, tile, None)
        message = error or "layer could not be drawn"
        try:
            tile = make_tile(renderer.placeholder(raster.drawn, raster.box, message), opacity,
                             rotation)
        except LayerError:
            tile = _EMPTY
        return _Cached(raster, opacity, rotation, tile, message)

    def _forget_deleted(self, layers: Sequence[Layer]) -> None:
        """Drop the tiles of layers that no longer exist (hidden ones keep theirs)."""
        stale = self._rasters.keys() - {layer.id for layer in layers}
        for layer_id in stale:
            del self._rasters[layer_id]
            self._tiles.pop(layer_id, None)
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


T = TypeVar("T")


def _attempt(make: Callable[[], T], layer: Layer) -> tuple[T | None, str | None]:
    """What `make` returns, or None and the problem it raised (shown on the layer)."""
    try:
        return make(), None
    except LayerError as exc:
        return None, str(exc)
    # The stream must go on whatever one layer holds; the log keeps the traceback.
    except Exception:
        log.exception("layer %s (%s) could not be drawn", layer.id, layer.type)
        return None, "layer could not be drawn (see the render log)"


def _common_prefix(a: list[Placed], b: list[Placed]) -> int:
    """How many leading entries `a` and `b` share."""
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count


_EMPTY = Tile(np.zeros((1, 1, 3), np.uint8), None, empty=True)
