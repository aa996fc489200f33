"""Text layers, and the Pillow text drawing that the clock and chat layers share.

Fonts come from render.layers.fonts. The font size is multiplied by the layer's scale, so
scaled text stays sharp.

Layout: lines split on "\\n", each line `ascent + descent` of the font below the previous,
left-aligned, the first line's ascender at the top of the box. Natural size = the extent of
the drawn text. With a box, text is drawn at its top-left and clipped to it; a null side
takes the text's extent.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import numpy as np
from PIL import Image, ImageDraw

from core.layers.types.text import TextContent, TextStyle
from render.layers.base import (
    Box,
    FrameInput,
    LayerRenderer,
    check_size,
    parse_color,
    rasteriser,
)
from render.layers.fonts import Font

Styled = TypeVar("Styled", bound=TextStyle)


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


class StyledTextLayer(LayerRenderer[Styled], Generic[Styled]):
    """Draws what a text-like layer shows with its `font_size` and `color`.

    Text, clock and chat layers are all this: each only says what is shown (`shown`) and how
    it breaks into lines (`lines`).
    """

    def content_key(self, content: Styled, frame: FrameInput) -> Hashable:
        """The font, colour and what is shown right now."""
        return content.font_size, content.color, self.shown(content, frame)

    def shown(self, content: Styled, frame: FrameInput) -> Any:
        """What the layer shows at this frame."""
        raise NotImplementedError

    def lines(self, shown: Any, font: Font, box: Box) -> list[str]:
        """`shown` as lines: multi-line on "\n"."""
        return str(shown).split("\n")

    def rasterise(self, content: Styled, frame: FrameInput, box: Box) -> np.ndarray:
        """What is shown, in lines, at the top-left of the box."""
        font = self.context.fonts.get(content.font_size, box.scale)
        lines = self.lines(self.shown(content, frame), font, box)
        return draw_lines(lines, font, content.color, box)


@rasteriser("text")
class TextLayer(StyledTextLayer[TextContent]):
    """Draws `content.text`."""

    def shown(self, content: TextContent, frame: FrameInput) -> str:
        """Its text."""
        return content.text
