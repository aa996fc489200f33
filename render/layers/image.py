"""Image layers: `content.source`, a file under the media root.

The source resolves through `core.media.resolve_source`, which refuses paths that escape the
media root; a refused path is treated like a missing file. Files are decoded with Pillow
(converted to RGBA, then premultiplied BGRA) once per file identity - (resolved path,
mtime_ns, size) - and shared by every layer showing the same file. Each source is stat'ed at
most once a second of `now`, so a replaced file shows up, and a missing one heals by itself,
within about a second, without a stat per frame.

Natural size is the image's pixel size (times scale). With a box the image is stretched to
it; with only one side given the other keeps the image's aspect ratio.

A missing, refused or undecodable image never raises: the layer shows a placeholder (dark
grey, magenta cross, "missing: <source>"), box-sized or 320x180 at natural size, and the
compositor reports the problem in `errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from core.layers.types.image import ImageContent
from core.media import MediaPathError, resolve_source
from render.layers.base import (
    Box,
    FrameInput,
    LayerError,
    LayerRenderer,
    RenderContext,
    check_size,
    rasteriser,
)
from render.layers.placement import stretch

log = logging.getLogger(__name__)

RECHECK_SECONDS = 1.0
# About an 8K frame; Pillow itself warns (and our tests fail) from about 89 M pixels.
MAX_DECODE_PIXELS = 40_000_000
PLACEHOLDER_SIZE = (320, 180)
_GREY = (40, 40, 40, 255)
_MAGENTA = (255, 0, 255, 255)

# ("file", path, mtime_ns, size) for a readable file, or (kind, message) for a problem.
Identity = tuple[Any, ...]


@rasteriser("image")
class ImageLayer(LayerRenderer[ImageContent]):
    """Draws media files, decoding each file once."""

    def __init__(self, context: RenderContext) -> None:
        super().__init__(context)
        self._root = context.media_root
        self._files: dict[str, tuple[Identity, float]] = {}
        self._decoded: dict[Identity, np.ndarray | str] = {}
        self._seen: set[str] = set()

    def content_key(self, content: ImageContent, frame: FrameInput) -> Hashable:
        """The source and the identity of the file it names (re-checked once a second)."""
        return content.source, self._identity(content.source, frame.now)

    def rasterise(self, content: ImageContent, frame: FrameInput, box: Box) -> np.ndarray:
        """The decoded image fitted to the box."""
        source = content.source
        image = self._decode(source, self._identity(source, frame.now))
        width, height = fit(image.shape[1], image.shape[0], box)
        check_size(width, height)
        return stretch(image, width, height)

    def placeholder(self, content: ImageContent, box: Box, message: str) -> np.ndarray:
        """A box-sized (or 320x180) grey tile with a magenta cross naming the source."""
        return draw_placeholder(self.context, f"missing: {content.source}", box)

    def end_frame(self) -> None:
        """Forget sources no layer showed this frame, and pixels no source names any more."""
        if self._seen != self._files.keys():
            for source in self._files.keys() - self._seen:
                del self._files[source]
            live = {identity for identity, _ in self._files.values()}
            for identity in self._decoded.keys() - live:
                del self._decoded[identity]
        self._seen.clear()

    def _identity(self, source: str, now: float) -> Identity:
        self._seen.add(source)
        known = self._files.get(source)
        if known is not None and abs(now - known[1]) < RECHECK_SECONDS:
            return known[0]
        identity = self._stat(source)
        self._files[source] = (identity, now)
        return identity

    def _stat(self, source: str) -> Identity:
        try:
            path = resolve_source(self._root, source)
            status = path.stat()
        except MediaPathError as exc:
            return "refused", f"image '{source}' refused: {exc}"
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python 3.11
            return "missing", f"image '{source}' not found"
        return "file", str(path), status.st_mtime_ns, status.st_size

    def _decode(self, source: str, identity: Identity) -> np.ndarray:
        if identity[0] != "file":
            raise LayerError(identity[1])
        decoded = self._decoded.get(identity)
        if decoded is None:
            decoded = self._decoded[identity] = _read(source, Path(identity[1]))
        if isinstance(decoded, str):
            raise LayerError(decoded)
        return decoded


def draw_placeholder(context: RenderContext, label: str, box: Box) -> np.ndarray:
    """What a media layer shows when its file cannot be shown: a box-sized (or 320x180) grey
    tile with a magenta cross and `label`."""
    width, height = fit(*PLACEHOLDER_SIZE, box)
    check_size(width, height)
    tile = Image.new("RGBA", (width, height), _GREY)
    pen = ImageDraw.Draw(tile)
    stroke = max(2, min(width, height) // 40)
    pen.rectangle((0, 0, width - 1, height - 1), outline=_MAGENTA, width=stroke)
    pen.line((0, 0, width - 1, height - 1), fill=_MAGENTA, width=stroke)
    pen.line((0, height - 1, width - 1, 0), fill=_MAGENTA, width=stroke)
    font = context.fonts.get(max(8, min(24, height // 8)), 1.0)
    pen.text((stroke + 4, stroke + 4), label, font=font, fill=(255, 255, 255, 255))
    return cv2.cvtColor(np.asarray(tile), cv2.COLOR_RGBA2BGRA)


def _read(source: str, path: Path) -> np.ndarray | str:
    """The file as premultiplied BGRA, or why it cannot be read."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_DECODE_PIXELS:
                return f"image '{source}' is too large ({image.width}x{image.height} pixels)"
            rgba = np.asarray(image.convert("RGBA"))
    # Any decoder error means "not a usable image"; one bad upload must not stop the stream.
    except Exception as exc:
        log.warning("cannot decode image %s: %s", path, exc)
        return f"image '{source}' could not be decoded: {exc}"
    return premultiply(cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))


def premultiply(bgra: np.ndarray) -> np.ndarray:
    """Straight-alpha BGRA as premultiplied BGRA (a new array unless already opaque)."""
    alpha = np.ascontiguousarray(bgra[:, :, 3])
    if cv2.minMaxLoc(alpha)[0] == 255:
        return bgra
    colour = cv2.multiply(np.ascontiguousarray(bgra[:, :, :3]),
                          cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR), scale=1 / 255)
    return np.dstack((colour, alpha))


def fit(natural_width: int, natural_height: int, box: Box) -> tuple[int, int]:
    """The size content of a natural size takes in `box`, one null side keeping the aspect."""
    if box.width is not None and box.height is not None:
        return box.width, box.height
    if box.width is not None:
        return box.width, max(1, round(box.width * natural_height / natural_width))
    if box.height is not None:
        return max(1, round(box.height * natural_width / natural_height)), box.height
    return max(1, round(natural_width * box.scale)), max(1, round(natural_height * box.scale))
