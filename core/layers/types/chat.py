"""Chat layers: the latest chat messages, one "author: message" each."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import validate

from core.layers.registry import ContentSchema, LayerType, register_layer_type
from core.layers.types.text import FONT_SIZE, TextStyle
from core.schemas.fields import Color, Integer

# The render worker keeps this many messages for chat layers.
MAX_MESSAGES = 50


@dataclass(frozen=True, kw_only=True)
class ChatContent(TextStyle):
    """The latest `max_messages` messages."""

    max_messages: int


class ChatContentSchema(ContentSchema):
    """The latest chat messages."""

    content_class = ChatContent

    max_messages = Integer(data_key="maxMessages", validate=validate.Range(1, MAX_MESSAGES),
                           load_default=5, metadata={"description": "how many messages show"})
    font_size = Integer(data_key="fontSize", validate=FONT_SIZE, load_default=24,
                        metadata={"description": "font size in pixels"})
    color = Color(load_default="#ffffff", metadata={"description": "#rrggbb or #rrggbbaa"})


CHAT = register_layer_type(LayerType(
    "chat", ChatContentSchema(), "The latest chat messages"))
