"""Layer schemas: what a client may send, and the record the store keeps.

A layer is kept exactly as it travels on the wire (camelCase JSON), so the store, the API and
the render worker read the same document without any mapping.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.media import MediaPathError, check_source
from core.schemas.fields import Boolean, Color, Integer, Number, Text, epoch_ms

LAYER_TYPES = ("image", "text", "color", "chat", "clock")
COORDINATE = validate.Range(-16384, 16384)
SIZE = validate.Range(1, 16384)
FONT_SIZE = validate.Range(4, 512)
Z_INDEX = validate.Range(-10000, 10000)
ID_LENGTH = 64
STRFTIME_DIRECTIVES = set("aAbBcdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%")


class TransformSchema(Schema):
    """Box in output pixels: top-left x/y, optional size, scale and clockwise rotation."""

    x = Integer(validate=COORDINATE, load_default=0)
    y = Integer(validate=COORDINATE, load_default=0)
    width = Integer(validate=SIZE, allow_none=True, load_default=None)
    height = Integer(validate=SIZE, allow_none=True, load_default=None)
    scale = Number(validate=validate.Range(0.01, 20.0), load_default=1.0)
    rotation = Number(validate=validate.Range(-360.0, 360.0), load_default=0.0)


class ImageContentSchema(Schema):
    """An image from the media library."""

    source = Text(required=True)

    @validates_schema
    def _source_is_safe(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:
            check_source(data["source"])
        except MediaPathError as exc:
            raise ValidationError(str(exc), "source") from None


class TextContentSchema(Schema):
    """A line (or lines) of text."""

    text = Text(required=True, validate=validate.Length(1, 500))
    fontSize = Integer(validate=FONT_SIZE, load_default=32)
    color = Color(load_default="#ffffff")


class ColorContentSchema(Schema):
    """A solid colour filling the box."""

    color = Color(required=True)


class ChatContentSchema(Schema):
    """The latest chat messages."""

    maxMessages = Integer(validate=validate.Range(1, 50), load_default=5)
    fontSize = Integer(validate=FONT_SIZE, load_default=24)
    color = Color(load_default="#ffffff")


class ClockContentSchema(Schema):
    """The wall clock, formatted with strftime."""

    format = Text(validate=validate.Length(1, 100), load_default="%H:%M:%S")
    fontSize = Integer(validate=FONT_SIZE, load_default=48)
    color = Color(load_default="#ffffff")

    @validates_schema
    def _format_works(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The C library prints unknown directives as they are; refuse them to catch typos.
        for directive in re.findall(r"%(.?)", data["format"]):
            if directive not in STRFTIME_DIRECTIVES:
                raise ValidationError(f"'%{directive}' is not a strftime directive", "format")


CONTENT_SCHEMAS: dict[str, type[Schema]] = {
    "image": ImageContentSchema,
    "text": TextContentSchema,
    "color": ColorContentSchema,
    "chat": ChatContentSchema,
    "clock": ClockContentSchema,
}


class LayerInputSchema(Schema):
    """A new layer as a client sends it. Content is checked against the layer's type.

    Without a zIndex the store puts the new layer on top.
    """

    name = Text(validate=validate.Length(1, 100))
    type = Text(required=True, validate=validate.OneOf(LAYER_TYPES))
    visible = Boolean(load_default=True)
    zIndex = Integer(validate=Z_INDEX)
    opacity = Number(validate=validate.Range(0.0, 1.0), load_default=1.0)
    transform = fields.Nested(TransformSchema, load_default=lambda: _TRANSFORM.load({}))
    content = fields.Dict(required=True)

    @post_load
    def _content_for_type(
        self, data: dict[str, Any], partial: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        if "type" in data and "content" in data:
            data["content"] = load_content(data["type"], data["content"])
        if not partial:
            data.setdefault("name", data["type"])
        return data


class LayerSchema(LayerInputSchema):
    """A stored layer: the input plus what the server assigns."""

    id = Text(required=True, validate=validate.Length(1, ID_LENGTH))
    name = Text(required=True, validate=validate.Length(1, 100))
    zIndex = Integer(required=True, validate=Z_INDEX)
    version = Integer(required=True, validate=validate.Range(1, 2**53))
    createdAt = epoch_ms(required=True)
    updatedAt = epoch_ms(required=True)


class LayerPatchSchema(LayerInputSchema):
    """A partial change. Load with partial=True; content is merged and checked by type later."""

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")


class VisibilitySchema(Schema):
    """`POST /stream/layers/<id>/visibility`."""

    visible = Boolean(required=True)


class ReorderSchema(Schema):
    """`POST /stream/layers/reorder`: every layer id, bottom first."""

    ids = fields.List(
        Text(validate=validate.Length(1, ID_LENGTH)),
        required=True,
        validate=validate.Length(max=10_000),
    )

    @validates_schema
    def _ids_are_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(set(data["ids"])) != len(data["ids"]):
            raise ValidationError("must not repeat an id", "ids")


# Built once: schemas are stateless, and building one costs more than a load.
_CONTENT = {kind: schema() for kind, schema in CONTENT_SCHEMAS.items()}
_TRANSFORM = TransformSchema()
_LAYER = LayerSchema()


def load_content(layer_type: str, content: Any) -> dict[str, Any]:
    """Validate `content` for `layer_type`, filling defaults; errors are keyed under content."""
    if not isinstance(content, dict):
        raise ValidationError({"content": ["must be an object"]})
    try:
        return _CONTENT[layer_type].load(content)
    except ValidationError as exc:
        raise ValidationError({"content": exc.messages}) from None


def apply_layer_patch(layer: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The layer with a loaded patch merged in (transform and content key by key), revalidated.

    The type of a layer is fixed: a different type needs a new layer.
    """
    if "type" in patch and patch["type"] != layer["type"]:
        raise ValidationError({"type": ["cannot be changed; create a new layer instead"]})
    merged = {**layer, **{k: v for k, v in patch.items() if k not in ("transform", "content")}}
    merged["transform"] = {**layer["transform"], **patch.get("transform", {})}
    merged["content"] = {**layer["content"], **patch.get("content", {})}
    return _LAYER.load(merged)
