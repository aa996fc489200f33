"""Layer rasterisers, one module per layer type registering itself with `@rasteriser`, plus
the shared geometry (`placement`), blending (`blend`) and fonts the compositor uses."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from core.layers import layer_types
from render.layers.base import RASTERISERS, LayerRenderer, RenderContext

log = logging.getLogger(__name__)


def build_renderers(context: RenderContext) -> dict[str, LayerRenderer[Any]]:
    """One rasteriser per registered layer type, sharing the context (and its font cache)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    missing = sorted(set(layer_types()) - set(RASTERISERS))
    if missing:
        log.error("no rasteriser for layer types %s; such layers are not drawn", missing)
    return {name: cls(context) for name, cls in RASTERISERS.items()}
