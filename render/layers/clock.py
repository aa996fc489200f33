"""Clock layers: the wall clock at `now`, formatted with `content.format` (strftime).

The formatted string is part of the tile key, so the clock re-rasterises only when the
string changes: once a second with %S, once a minute with %H:%M.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

import numpy as np

from render.layers.base import Box, FrameInput, LayerRenderer
from render.layers.text import Fonts, draw_lines


class ClockLayer(LayerRenderer):
    """Draws `time.localtime(now)` through strftime, laid out like a text layer."""

    def __init__(self, fonts: Fonts) -> None:
        self._fonts = fonts

    def content_key(self, layer: dict[str, Any], frame: FrameInput) -> Hashable:
        """The font, colour and the string shown right now."""
        content = layer["content"]
        return content["fontSize"], content["color"], _formatted(content["format"], frame)

    def rasterise(self, layer: dict[str, Any], frame: FrameInput, box: Box) -> np.ndarray:
        """The formatted time as text."""
        content = layer["content"]
        font = self._fonts.get(content["fontSize"], box.scale)
        text = _formatted(content["format"], frame)
        return draw_lines(text.split("\n"), font, content["color"], box)


def _formatted(fmt: str, frame: FrameInput) -> str:
    return time.strftime(fmt, frame.localtime())
