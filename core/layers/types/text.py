"""Text layers: a line (or lines, split on "\\n") of text in the bundled font."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import validate

from core.layers.model import LayerContent
from core.layers.registry import ContentSchema, LayerType, register_layer_type
from core.schemas.fields import Color, Integer, Text

FONT_SIZE = validate.Range(4, 512)


@dataclass(frozen=True, kw_only=True)
class TextStyle(LayerContent):
    """What every text-drawing type has: a font size in pixels and a colour."""

    font_size: int
    color: str


@dataclass(frozen=True, kw_only=True)
class TextContent(TextStyle):
    """`text`, drawn with `font_size` and `color`."""

    text: str


class TextContentSchema(ContentSchema):
    """A line (or lines) of text."""

    content_class = TextContent

    text = Text(required=True, validate=validate.Length(1, 500),
                metadata={"description": "the text; \\n starts a new line"})
    font_size = Integer(data_key="fontSize", validate=FONT_SIZE, load_default=32,
                        metadata={"description": "font size in pixels"})
    color = Color(load_default="#ffffff", metadata={"description": "#rrggbb or #rrggbbaa"})


TEXT = register_layer_type(LayerType(
    "text", TextContentSchema(), "A line or lines of text"))
