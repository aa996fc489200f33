"""marshmallow schemas for the wire and Redis (camelCase, as on the wire); layers have theirs
in core.layers."""

from core.schemas.chat import ChatInputSchema, ChatMessageSchema
from core.schemas.preview import PreviewClientSchema
from core.schemas.stream import (
    RenderInstanceSchema,
    StreamRecordSchema,
    StreamStatusSchema,
    TelemetrySchema,
)

__all__ = [
    "ChatInputSchema", "ChatMessageSchema", "PreviewClientSchema", "RenderInstanceSchema",
    "StreamRecordSchema", "StreamStatusSchema", "TelemetrySchema",
]
