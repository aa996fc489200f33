"""Geometry shared by every layer type: the scaled box, stretching, opacity and rotation.

- `scale` multiplies the box; the top-left corner stays at the layer's x, y.
- `rotation` is degrees clockwise on screen about the scaled box's centre. The rotated tile
  grows to the bounding box of the rotated content and is offset (Tile.dx, dy) so the box
  centre stays where it was. OpenCV's positive angle is counter-clockwise, hence the minus.
- `opacity` scales all four premultiplied channels, i.e. multiplies the content's own alpha.

Everything happens on premultiplied pixels, so resampling never bleeds the colour of fully
transparent pixels into the edges.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from core.layers import Transform
from render.layers.base import Box, Tile, check_size

# Multiples of 90 degrees rotate exactly; other angles get room for the anti-aliased edge.
_ROTATE_EXACT = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
                 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_EDGE_MARGIN = 2


def scaled_box(transform: Transform) -> Box:
    """The layer's box after `scale`; a null side stays None (the content's natural size)."""
    scale = transform.scale

    def side(value: int | None) -> int | None:
        return None if value is None else max(1, round(value * scale))

    return Box(side(transform.width), side(transform.height), scale)


def stretch(bgra: np.ndarray, width: int, height: int) -> np.ndarray:
    """`bgra` resized to width x height: area averaging when shrinking, bilinear otherwise."""
    src_h, src_w = bgra.shape[:2]
    if (src_w, src_h) == (width, height):
        return bgra
    check_size(width, height)
    shrinking = width * height < src_w * src_h
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(bgra, (width, height), interpolation=interpolation)


def make_tile(bgra: np.ndarray, opacity: float, rotation: float) -> Tile:
    """A blend-ready Tile from premultiplied BGRA content, or opaque BGR or I420 content (used
    as it is when neither faded nor turned: a video frame is blended straight from where it
    was decoded)."""
    if bgra.ndim == 2:  # I420 (render.layers.planar)
        if opacity >= 1.0 and not rotation % 360:
            return Tile(bgra, None, empty=False, i420=True)
        bgra = cv2.cvtColor(bgra, cv2.COLOR_YUV2BGR_I420)
    if bgra.shape[2] == 3:
        if opacity >= 1.0 and not rotation % 360:
            return Tile(bgra, None, empty=False)
        bgra = cv2.cvtColor(bgra, cv2.COLOR_BGR2BGRA)
    if opacity < 1.0:
        bgra = cv2.convertScaleAbs(bgra, alpha=opacity)
    dx = dy = 0
    if rotation % 360:
        bgra, dx, dy = rotate(bgra, rotation % 360)
    alpha = np.ascontiguousarray(bgra[:, :, 3])
    lowest, highest = cv2.minMaxLoc(alpha)[:2]
    inverse = None if lowest == 255 else cv2.cvtColor(255 - alpha, cv2.COLOR_GRAY2BGR)
    premult = np.ascontiguousarray(bgra[:, :, :3])
    return Tile(premult, inverse, empty=highest == 0, dx=dx, dy=dy)


def rotate(bgra: np.ndarray, degrees: float) -> tuple[np.ndarray, int, int]:
    """`bgra` turned `degrees` clockwise, with the (dx, dy) that keeps its centre in place."""
    height, width = bgra.shape[:2]
    exact = _ROTATE_EXACT.get(int(degrees)) if degrees == int(degrees) else None
    if exact is not None:
        turned = cv2.rotate(bgra, exact)
        new_h, new_w = turned.shape[:2]
        return turned, (width - new_w) // 2, (height - new_h) // 2
    radians = math.radians(degrees)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    new_w = math.ceil(width * cos + height * sin - 1e-6) + 2 * _EDGE_MARGIN
    new_h = math.ceil(width * sin + height * cos - 1e-6) + 2 * _EDGE_MARGIN
    check_size(new_w, new_h)
    dx, dy = (width - new_w) // 2, (height - new_h) // 2
    # Pixel centres sit on integer coordinates, so the box centre is ((w-1)/2, (h-1)/2).
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), -degrees, 1.0)
    matrix[0, 2] -= dx
    matrix[1, 2] -= dy
    turned = cv2.warpAffine(bgra, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return turned, dx, dy
