"""Clock layers: the wall clock, formatted with strftime."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from core.layers.registry import ContentSchema, LayerType, register_layer_type
from core.layers.types.text import FONT_SIZE, TextStyle
from core.schemas.fields import Color, Integer, Text

STRFTIME_DIRECTIVES = set("aAbBcdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%")


@dataclass(frozen=True, kw_only=True)
class ClockContent(TextStyle):
    """`format`: a strftime pattern such as "%H:%M:%S"."""

    format: str


class ClockContentSchema(ContentSchema):
    """The wall clock, formatted with strftime."""

    content_class = ClockContent

    format = Text(validate=validate.Length(1, 100), load_default="%H:%M:%S",
                  metadata={"description": "strftime pattern, e.g. LIVE %H:%M"})
    font_size = Integer(data_key="fontSize", validate=FONT_SIZE, load_default=48,
                        metadata={"description": "font size in pixels"})
    color = Color(load_default="#ffffff", metadata={"description": "#rrggbb or #rrggbbaa"})

    @validates_schema
    def _format_works(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The C library prints unknown directives as they are; refuse them to catch typos.
        for directive in re.findall(r"%(.?)", data["format"]):
            if directive not in STRFTIME_DIRECTIVES:
                raise ValidationError(f"'%{directive}' is not a strftime directive", "format")


CLOCK = register_layer_type(LayerType(
    "clock", ClockContentSchema(), "The wall clock, formatted with strftime"))
