"""What every layer rasteriser shares: the frame inputs, the box, the tile, the base class,
and the registry that ties each rasteriser to its layer type (the render half of
core.layers.registry).

A rasteriser turns a layer's typed content into a premultiplied BGRA image (or an opaque BGR
one) the size of its scaled box; `render.layers.placement` then applies opacity and rotation
and makes the `Tile` the compositor blends. Position is deliberately not an input, so moving a
layer reuses its tile. A module of this package registers its rasteriser with
`@rasteriser("type")`.

Most types are drawn from their content alone. A type whose pixels depend on more (a video's
playback, the decoding process each video or input layer has) says what it draws from in
`drawn`, and names the source process it needs in `source_spec`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import numpy as np

from core.layers import Layer
from render.layers.fonts import Fonts
from render.sources import Sources, SourceSpec
from render.sources.spec import PixelFormat

if TYPE_CHECKING:
    from render.layers.planar import Planes

# Bounds what one layer may allocate (about 100 MB of tile); a bigger layer is reported.
MAX_TILE_PIXELS = 16 * 1024 * 1024
# OpenCV's geometric transforms refuse images with a side of 32767 or more.
MAX_TILE_SIDE = 32_000


class LayerError(Exception):
    """A layer cannot be drawn as asked; the message is shown to the operator."""


@dataclass
class FrameInput:
    """What one `compose` call knows beyond the layers: the time and the recent chat."""

    now: float
    chat: list[dict[str, Any]]
    _local: time.struct_time | None = field(default=None, init=False, repr=False)

    def localtime(self) -> time.struct_time:
        """`time.localtime(now)`, computed once per frame however many clocks ask."""
        if self._local is None:
            self._local = time.localtime(self.now)
        return self._local


@dataclass(frozen=True)
class Box:
    """The layer's box after `scale`, in output pixels; None = the content's natural size."""

    width: int | None
    height: int | None
    scale: float


@dataclass(eq=False)
class Tile:
    """A rasterised layer ready to blend, compared by identity.

    `premult` holds BGR already multiplied by alpha; `inverse` holds 255 - alpha on three
    channels (None when the tile is opaque). `dx, dy` shift the tile from the layer's x, y
    (rotation grows the tile around the box centre). With `i420`, `premult` holds an opaque
    I420 picture instead (a source's frame, for a compositor that composites in YUV).
    """

    premult: np.ndarray
    inverse: np.ndarray | None
    empty: bool
    dx: int = 0
    dy: int = 0
    i420: bool = False
    # Its YUV planes at each chroma phase, made by render.layers.planar when first blended.
    planes: dict[tuple[int, int], Planes] = field(default_factory=dict, repr=False)

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.premult.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        rows = int(self.premult.shape[0])
        return rows * 2 // 3 if self.i420 else rows


@dataclass(frozen=True)
class RenderContext:
    """What rasterisers are built with: the output size, the media library, the font cache,
    the source processes (decoding videos and inputs off the render thread) and the format the
    compositor composites in (sources hand their pictures over in it)."""

    width: int
    height: int
    media_root: Path
    fonts: Fonts
    sources: Sources
    frame_format: PixelFormat = "bgr24"


# What a rasteriser draws from: a layer's content, or what `drawn` makes of the layer.
Content = TypeVar("Content", bound=Hashable)


class LayerRenderer(ABC, Generic[Content]):
    """Rasterises one layer type. One instance per compositor, so caches live here."""

    def __init__(self, context: RenderContext) -> None:
        self.context = context

    def drawn(self, layer: Layer) -> Content:
        """What this type draws a layer from: by default its content."""
        return cast(Content, layer.content)

    def source_specs(self, layers: list[Layer], now: float) -> dict[str, SourceSpec]:
        """Layer id -> the source process it needs, for every layer of this type (hidden ones
        too); asked on every change of the layers and about once a second. Types drawn
        without a source need none."""
        return {}

    def source_states(self) -> dict[str, dict[str, Any]]:
        """Layer id -> what is known of its source, for the layer reads (any thread)."""
        return {}

    def content_key(self, content: Content, frame: FrameInput) -> Hashable:
        """Everything that decides the pixels besides the box; by default the content itself
        (content objects are frozen, so they hash)."""
        return content

    @abstractmethod
    def rasterise(self, content: Content, frame: FrameInput, box: Box) -> np.ndarray:
        """The layer's pixels as premultiplied BGRA uint8 (or BGR when opaque; or an opaque I420
        picture from a source, for a compositor in YUV), opacity and rotation not applied.

        May raise LayerError; then `placeholder` draws instead.
        """

    def placeholder(self, content: Content, box: Box, message: str) -> np.ndarray:
        """What to draw when `rasterise` failed: by default nothing (a transparent pixel)."""
        return np.zeros((1, 1, 4), np.uint8)

    def end_frame(self) -> None:
        """Called once after each compose, to drop state for content no longer shown."""
        return None  # most layer types keep no state between frames


RendererClass = type[LayerRenderer[Any]]
RASTERISERS: dict[str, RendererClass] = {}


def rasteriser(type_name: str) -> Callable[[RendererClass], RendererClass]:
    """Class decorator: draw layers of `type_name` (a type in core.layers) with this class."""

    def register(cls: RendererClass) -> RendererClass:
        RASTERISERS[type_name] = cls
        return cls

    return register


def check_size(width: int, height: int) -> None:
    """Refuse a tile too large to allocate; the compositor reports it on the layer."""
    if width > MAX_TILE_SIDE or height > MAX_TILE_SIDE or width * height > MAX_TILE_PIXELS:
        raise LayerError(f"layer is too large to draw ({width}x{height} pixels after scale)")


def parse_color(color: str) -> tuple[int, int, int, int]:
    """`#rrggbb` or `#rrggbbaa` as (r, g, b, a), 0..255."""
    digits = color.lstrip("#")
    alpha = int(digits[6:8], 16) if len(digits) == 8 else 255
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha


def solid(width: int, height: int, color: str) -> np.ndarray:
    """A premultiplied BGRA block of one colour."""
    check_size(width, height)
    r, g, b, a = parse_color(color)
    pixel = [round(b * a / 255), round(g * a / 255), round(r * a / 255), a]
    return np.full((height, width, 4), pixel, np.uint8)
