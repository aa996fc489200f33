"""Colour layers: one colour filling the box (the whole output where a side is null)."""

from __future__ import annotations

from dataclasses import dataclass

from core.layers.model import LayerContent
from core.layers.registry import ContentSchema, LayerType, register_layer_type
from core.schemas.fields import Color


@dataclass(frozen=True, kw_only=True)
class ColorContent(LayerContent):
    """`color`: "#rrggbb" or "#rrggbbaa"."""

    color: str


class ColorContentSchema(ContentSchema):
    """A solid colour filling the box."""

    content_class = ColorContent

    color = Color(required=True, metadata={"description": "#rrggbb or #rrggbbaa"})


COLOR = register_layer_type(LayerType(
    "color", ColorContentSchema(), "A solid colour filling the box"))
