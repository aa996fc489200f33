"""`GET /stream/layer-types`: each registered type with its content fields, their kinds,
ranges and defaults, read from the type's schema, so forms are built from the registry."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from marshmallow.utils import missing

from core.layers.registry import LayerType, layer_types
from core.schemas.fields import Boolean, Color, Integer, MediaSource, Number, Text

# Most specific first: a Color is also Text.
_KINDS: tuple[tuple[type[fields.Field[Any]], str], ...] = (
    (MediaSource, "media"), (Color, "color"), (Boolean, "boolean"), (Integer, "integer"),
    (Number, "number"), (Text, "text"),
)


def describe_layer_types() -> list[dict[str, Any]]:
    """Every layer type, as the admin page builds its form from it."""
    return [describe_layer_type(layer_type) for layer_type in layer_types().values()]


def describe_layer_type(layer_type: LayerType) -> dict[str, Any]:
    """One type: its name, what it is, and each content field."""
    return {
        "type": layer_type.name,
        "description": layer_type.description,
        "fields": [_describe_field(field) for field in layer_type.schema.fields.values()],
    }


def _describe_field(field: fields.Field[Any]) -> dict[str, Any]:
    kind = next((name for cls, name in _KINDS if isinstance(field, cls)), "text")
    default = field.load_default
    described: dict[str, Any] = {
        "name": field.data_key or field.name,
        "kind": kind,
        "required": field.required,
        "nullable": field.allow_none,
        "default": None if default is missing or callable(default) else default,
        "description": field.metadata.get("description", ""),
    }
    if "accept" in field.metadata:
        described["accept"] = field.metadata["accept"]
    for rule in field.validators:
        if isinstance(rule, validate.Range):
            described.update(_present(min=rule.min, max=rule.max))
        elif isinstance(rule, validate.Length):
            described.update(_present(minLength=rule.min, maxLength=rule.max))
        elif isinstance(rule, validate.OneOf):
            described["choices"] = list(rule.choices)
    return described


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
