"""Blending a Tile onto a frame: premultiplied "over", clipped to the frame.

out = tile_premult + dst * (1 - alpha), in uint8 with OpenCV's saturating, rounding ops on
views of the frame (no float round trip, no temporary the size of the frame). Opaque tiles
are a plain copy.
"""

from __future__ import annotations

import cv2
import numpy as np

from render.layers.base import Tile

_INVERSE_SCALE = 1.0 / 255.0


def clip(tile: Tile, x: int, y: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The part of a tile at (x, y) inside a width x height frame as (x0, y0, x1, y1), or None."""
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + tile.width, width), min(y + tile.height, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def blend(frame: np.ndarray, tile: Tile, x: int, y: int) -> None:
    """Draw `tile` with its top-left at (x, y) over `frame`, in place; off-frame parts dropped."""
    rect = clip(tile, x, y, frame.shape[1], frame.shape[0])
    if rect is None or tile.empty:
        return
    x0, y0, x1, y1 = rect
    dst = frame[y0:y1, x0:x1]
    src = tile.premult[y0 - y:y1 - y, x0 - x:x1 - x]
    if tile.inverse is None:
        np.copyto(dst, src)
        return
    inverse = tile.inverse[y0 - y:y1 - y, x0 - x:x1 - x]
    cv2.multiply(dst, inverse, dst=dst, scale=_INVERSE_SCALE)
    cv2.add(dst, src, dst=dst)
