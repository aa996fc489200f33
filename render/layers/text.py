"""Text layers, and the Pillow text drawing that the clock and chat layers share.

Fonts come from `PIL.ImageFont.load_default(size=...)`: a scalable FreeType font bundled in
Pillow, so output is the same on every machine and no system font is needed. The font size
is multiplied by the layer's scale, so scaled text stays sharp.

Layout: lines split on "\\n", each line `ascent + descent` of the font below the previous,
left-aligned, the first line's ascender at the top of the box. Natural size = the extent of
the drawn text. With a box, text is drawn at its top-left and clipped to it; a null side
takes the text's extent.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from render.layers.base import Box, FrameInput, LayerRenderer, check_size, parse_color

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


class Fonts:
    """The bundled font, loaded once per pixel size."""

    def __init__(self) -> None:
        self._by_size: dict[int, Font] = {}

    def get(self, font_size: int, scale: float) -> Font:
        """The font for `font_size` drawn at `scale`."""
        size = max(1, round(font_size * scale))
        font = self._by_size.get(size)
        if font is None:
            font = self._by_size[size] = ImageFont.load_default(size=size)
        return font


def line_pitch(font: Font) -> int:
    """Distance from one line's top to the next."""
    ascent, descent = font.getmetrics()
    return ascent + descent


def line_width(font: Font, line: str) -> int:
    """Width of one drawn line in pixels, including any overhang of the last glyph."""
    if not line:
        return 0
    right = font.getbbox(line, anchor="la")[2]
    return math.ceil(max(right, font.getlength(line)))


def draw_lines(lines: list[str], font: Font, color: str, box: Box) -> np.ndarray:
    """`lines` in `color` as premultiplied BGRA, the size of the box or of the text."""
    pitch = line_pitch(font)
    width = box.width or max(1, max((line_width(font, line) for line in lines), default=1))
    height = box.height or max(1, pitch * len(lines))
    check_size(width, height)
    mask = Image.new("L", (width, height))
    pen = ImageDraw.Draw(mask)
    for row, line in enumerate(lines):
        top = row * pitch
        if top >= height:
            break
        pen.text((0, top), line, font=font, fill=255, anchor="la")
    return _colorise(np.asarray(mask), color)


def _colorise(mask: np.ndarray, color: str) -> np.ndarray:
    """A coverage mask (0..255) painted in `color`, premultiplied BGRA."""
    r, g, b, a = parse_color(color)
    alpha = mask.astype(np.uint16) * a // 255 if a < 255 else mask.astype(np.uint16)
    out = np.empty(mask.shape + (4,), np.uint8)
    for channel, value in enumerate((b, g, r)):
        out[:, :, channel] = (alpha * value + 127) // 255
    out[:, :, 3] = alpha
    return out


class TextLayer(LayerRenderer):
    """Draws `content.text` with `content.fontSize` and `content.color`.

    The clock and chat layers are text layers too: they only say what is shown (`shown`)
    and how it breaks into lines (`lines`).
    """

    def __init__(self, fonts: Fonts) -> None:
        self._fonts = fonts

    def content_key(self, layer: dict[str, Any], frame: FrameInput) -> Hashable:
        """The font, colour and what is shown right now."""
        content = layer["content"]
        return content["fontSize"], content["color"], self.shown(layer, frame)

    def shown(self, layer: dict[str, Any], frame: FrameInput) -> Any:
        """What the layer shows at this frame: here, its text."""
        return layer["content"]["text"]

    def lines(self, shown: Any, font: Font, box: Box) -> list[str]:
        """`shown` as lines: multi-line on "\n"."""
        return shown.split("\n")

    def rasterise(self, layer: dict[str, Any], frame: FrameInput, box: Box) -> np.ndarray:
        """What is shown, in lines, at the top-left of the box."""
        content = layer["content"]
        font = self._fonts.get(content["fontSize"], box.scale)
        lines = self.lines(self.shown(layer, frame), font, box)
        return draw_lines(lines, font, content["color"], box)
