"""marshmallow schemas for everything on the wire and in Redis; camelCase, as on the wire."""

from core.schemas.chat import ChatInputSchema, ChatMessageSchema
from core.schemas.layers import (
    LayerInputSchema,
    LayerPatchSchema,
    LayerSchema,
    ReorderSchema,
    VisibilitySchema,
    apply_layer_patch,
)
from core.schemas.preview import PreviewClientSchema
from core.schemas.stream import (
    RenderInstanceSchema,
    StreamRecordSchema,
    StreamStatusSchema,
    TelemetrySchema,
)

__all__ = [
    "ChatInputSchema", "ChatMessageSchema", "LayerInputSchema", "LayerPatchSchema",
    "LayerSchema", "PreviewClientSchema", "RenderInstanceSchema", "ReorderSchema",
    "StreamRecordSchema", "StreamStatusSchema", "TelemetrySchema", "VisibilitySchema",
    "apply_layer_patch",
]
