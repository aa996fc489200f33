"""Compositing in YUV 4:2:0: tiles blended straight into I420 frames, the encoder's format.

A compositor built with frame_format "yuv420p" makes I420 frames (the Y plane, then U, then V,
each plane's rows back to back: an array of (height * 3 / 2, width)), the layout
render.sources.spec.picture_shape describes. Video and input pictures then arrive from their
source processes in I420 and are used as they are, and the finished frame goes to x264
without a colour conversion: neither the source process's YUV -> BGR nor the encoder's
BGR -> YUV of the whole frame is done.

Each tile keeps its premultiplied BGR (render.layers.base.Tile); the first time a tile is
blended at a given chroma phase, its planes are made and kept with it:
- a tile at an odd x (or y) gets a transparent column (row) on its left (top), and its sides
  are made even, so its planes always start on the 2x2 grid of the chroma samples;
- Y is converted per pixel, U and V from the average of each 2x2 block (premultiplied, so the
  average is the right colour for the block's average coverage), with BT.601 limited-range
  coefficients, as OpenCV's BGR -> I420 conversion uses;
- premultiplied YUV: the conversion's offsets (16 for Y, 128 for U and V) belong to the
  covered share of each pixel only, so they are taken off the uncovered share, and blending is
  then "over" as in BGR: out = src + dst * (255 - alpha) / 255, on each plane, with the alpha
  of each 2x2 block averaged for U and V.
An opaque I420 picture (a video frame at an even place) is its own planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from render.layers.base import Tile

BLACK = (16, 128, 128)  # Y, U, V of black in limited range
_TO_Y = np.array([[24.966 / 255, 128.553 / 255, 65.481 / 255, 16]], np.float32)
_TO_UV = np.array([[112 / 255, -74.203 / 255, -37.797 / 255, 128],
                   [-18.214 / 255, -93.786 / 255, 112 / 255, 128]], np.float32)
_INVERSE_SCALE = 1.0 / 255.0


@dataclass(frozen=True)
class Planes:
    """A tile as I420 planes starting on the chroma grid: Y (height x width), U and V (half
    each way); `inverse` and `inverse_chroma` hold 255 - alpha for each (None: opaque)."""

    width: int
    height: int
    yuv: tuple[np.ndarray, np.ndarray, np.ndarray]
    inverse: np.ndarray | None
    inverse_chroma: np.ndarray | None


def new_frame(width: int, height: int) -> np.ndarray:
    """An uninitialised I420 frame."""
    return np.empty((height * 3 // 2, width), np.uint8)


def i420_size(picture: np.ndarray) -> tuple[int, int]:
    """(width, height) of an I420 array."""
    return picture.shape[1], picture.shape[0] * 2 // 3


def i420_planes(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y, U and V planes of an I420 array."""
    width, height = i420_size(picture)
    flat = picture.reshape(-1)
    luma, chroma = width * height, width * height // 4
    return (flat[:luma].reshape(height, width),
            flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:].reshape(height // 2, width // 2))


def fill_black(frame: np.ndarray) -> np.ndarray:
    """`frame` (I420) made black."""
    for plane, value in zip(i420_planes(frame), BLACK, strict=True):
        plane.fill(value)
    return frame


def blend_planar(frame: np.ndarray, tile: Tile, x: int, y: int) -> None:
    """Draw `tile` with its top-left at (x, y) over the I420 `frame`, in place; off-frame parts
    dropped."""
    if tile.empty:
        return
    width, height = i420_size(frame)
    planes = planes_at(tile, x % 2, y % 2)
    x, y = x - x % 2, y - y % 2  # where the planes begin: on the chroma grid
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + planes.width, width), min(y + planes.height, height)
    if x0 >= x1 or y0 >= y1:
        return
    inverses = (planes.inverse, planes.inverse_chroma, planes.inverse_chroma)
    for shift, target, source, inverse in zip((0, 1, 1), i420_planes(frame), planes.yuv,
                                              inverses, strict=True):
        # Every corner is even, so the chroma rectangle is the luma one halved exactly.
        dst = target[y0 >> shift:y1 >> shift, x0 >> shift:x1 >> shift]
        inside = (slice((y0 - y) >> shift, (y1 - y) >> shift),
                  slice((x0 - x) >> shift, (x1 - x) >> shift))
        if inverse is None:
            np.copyto(dst, source[inside])
            continue
        cv2.multiply(dst, inverse[inside], dst=dst, scale=_INVERSE_SCALE)
        cv2.add(dst, source[inside], dst=dst)


def planes_at(tile: Tile, dx: int, dy: int) -> Planes:
    """The tile's planes for a place whose x, y are `dx`, `dy` past the chroma grid (0 or 1),
    made on first use and kept with the tile."""
    found = tile.planes.get((dx, dy))
    if found is None:
        found = tile.planes[(dx, dy)] = _make_planes(tile, dx, dy)
    return found


def _make_planes(tile: Tile, dx: int, dy: int) -> Planes:
    if tile.i420 and not (dx or dy):
        return Planes(tile.width, tile.height, i420_planes(tile.premult), None, None)
    premult = cv2.cvtColor(tile.premult, cv2.COLOR_YUV2BGR_I420) if tile.i420 else tile.premult
    bottom, right = (tile.height + dy) % 2, (tile.width + dx) % 2
    padding = (dy, bottom, dx, right)
    inverse = np.ascontiguousarray(tile.inverse[:, :, 0]) if tile.inverse is not None else None
    if any(padding):
        premult = cv2.copyMakeBorder(premult, *padding, cv2.BORDER_CONSTANT, value=0)
        if inverse is None:
            inverse = np.zeros((tile.height, tile.width), np.uint8)
        inverse = cv2.copyMakeBorder(inverse, *padding, cv2.BORDER_CONSTANT, value=255)
    height, width = premult.shape[:2]
    luma = cv2.transform(premult, _TO_Y)
    half = (width // 2, height // 2)
    # INTER_AREA halving is the mean of each 2x2 block.
    u, v = cv2.split(cv2.transform(cv2.resize(premult, half, interpolation=cv2.INTER_AREA),
                                   _TO_UV))
    inverse_chroma = None
    if inverse is not None:
        inverse_chroma = cv2.resize(inverse, half, interpolation=cv2.INTER_AREA)
        luma = cv2.subtract(luma, cv2.convertScaleAbs(inverse, alpha=BLACK[0] / 255))
        offset = cv2.convertScaleAbs(inverse_chroma, alpha=BLACK[1] / 255)
        u, v = cv2.subtract(u, offset), cv2.subtract(v, offset)
    return Planes(width, height, (luma, u, v), inverse, inverse_chroma)
