"""Layer rasterisers, one module per layer type on `base.LayerRenderer`, plus the shared
geometry (`placement`) and blending (`blend`) the compositor uses."""

from __future__ import annotations

from pathlib import Path

from render.layers.base import LayerRenderer
from render.layers.chat import ChatLayer
from render.layers.clock import ClockLayer
from render.layers.color import ColorLayer
from render.layers.image import ImageLayer
from render.layers.text import Fonts, TextLayer


def build_renderers(width: int, height: int, media_root: Path) -> dict[str, LayerRenderer]:
    """One rasteriser per layer type, sharing one font cache."""
    fonts = Fonts()
    return {
        "image": ImageLayer(media_root, fonts),
        "text": TextLayer(fonts),
        "color": ColorLayer(width, height),
        "chat": ChatLayer(fonts),
        "clock": ClockLayer(fonts),
    }
