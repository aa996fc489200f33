"""Colour layers: `content.color` ("#rrggbb" or "#rrggbbaa") filling the box.

A null width or height means the whole output in that direction.
"""

from __future__ import annotations

import numpy as np

from core.layers.types.color import ColorContent
from render.layers.base import Box, FrameInput, LayerRenderer, rasteriser, solid


@rasteriser("color")
class ColorLayer(LayerRenderer[ColorContent]):
    """Fills the box with one colour."""

    def rasterise(self, content: ColorContent, frame: FrameInput, box: Box) -> np.ndarray:
        """A solid block the size of the box (the output where a side is null)."""
        width = box.width or max(1, round(self.context.width * box.scale))
        height = box.height or max(1, round(self.context.height * box.scale))
        return solid(width, height, content.color)
