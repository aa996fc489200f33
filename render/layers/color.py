"""Colour layers: `content.color` ("#rrggbb" or "#rrggbbaa") filling the box.

A null width or height means the whole output in that direction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from render.layers.base import Box, FrameInput, LayerRenderer, solid


class ColorLayer(LayerRenderer):
    """Fills the box with one colour."""

    def __init__(self, output_width: int, output_height: int) -> None:
        self._output = (output_width, output_height)

    def rasterise(self, layer: dict[str, Any], frame: FrameInput, box: Box) -> np.ndarray:
        """A solid block the size of the box (the output where a side is null)."""
        width = box.width or max(1, round(self._output[0] * box.scale))
        height = box.height or max(1, round(self._output[1] * box.scale))
        return solid(width, height, layer["content"]["color"])
