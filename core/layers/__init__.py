"""Layers: the typed model (`model`), the wire schemas (`schemas`) and the registry of layer
types (`registry`, one module per type in `types/`)."""

from core.layers.model import Layer, LayerContent, NewLayer, Transform, layer_order
from core.layers.registry import (
    ContentSchema,
    LayerType,
    find_layer_type,
    layer_types,
    register_layer_type,
    unregister_layer_type,
)
from core.layers.schemas import (
    apply_patch,
    dump_layer,
    dump_new_layer,
    load_layer,
    load_new_layer,
    load_patch,
)

__all__ = [
    "ContentSchema", "Layer", "LayerContent", "LayerType", "NewLayer", "Transform",
    "apply_patch", "dump_layer", "dump_new_layer", "find_layer_type", "layer_order",
    "layer_types", "load_layer", "load_new_layer", "load_patch", "register_layer_type",
    "unregister_layer_type",
]
