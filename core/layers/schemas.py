"""Layers on the wire: marshmallow schemas that load camelCase JSON into the typed model
(`post_load`) and dump the model back, once at each edge.

Content is checked against the layer's type through the registry, so its errors are keyed
`content.<field>`; a type whose fields all have defaults may leave `content` out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.layers.model import Layer, LayerContent, NewLayer, Transform
from core.layers.playback import PlaybackSchema
from core.layers.registry import find_layer_type, layer_types, type_of_content
from core.schemas.fields import Boolean, Integer, Number, Text, epoch_ms
from core.urls import mask_url

COORDINATE = validate.Range(-16384, 16384)
SIZE = validate.Range(1, 16384)
Z_INDEX = validate.Range(-10000, 10000)
ID_LENGTH = 64


class TransformSchema(Schema):
    """Box in output pixels: top-left x/y, optional size, scale and clockwise rotation."""

    x = Integer(validate=COORDINATE, load_default=0)
    y = Integer(validate=COORDINATE, load_default=0)
    width = Integer(validate=SIZE, allow_none=True, load_default=None)
    height = Integer(validate=SIZE, allow_none=True, load_default=None)
    scale = Number(validate=validate.Range(0.01, 20.0), load_default=1.0)
    rotation = Number(validate=validate.Range(-360.0, 360.0), load_default=0.0)

    @post_load
    def _make(self, data: dict[str, Any], partial: Any = None,
              **kwargs: Any) -> Transform | dict[str, Any]:
        # A partial load is a change to merge, not a transform of its own.
        return data if partial else Transform(**data)


def _known_type(name: str) -> None:
    if find_layer_type(name) is None:
        raise ValidationError(f"must be one of: {', '.join(layer_types())}")


class LayerContentField(fields.Field[Any]):
    """A layer's content: an object on the way in (typed later by the layer's type), the
    type's own dump on the way out."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else type_of_content(value).schema.dump(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        return value


class _LayerFields(Schema):
    """What a client may set on a layer."""

    name = Text(validate=validate.Length(1, 100))
    type = Text(required=True, validate=_known_type)
    visible = Boolean(load_default=True)
    z_index = Integer(data_key="zIndex", validate=Z_INDEX)
    opacity = Number(validate=validate.Range(0.0, 1.0), load_default=1.0)
    transform = fields.Nested(TransformSchema, load_default=Transform)
    # May be left out (None) when every field of the type has a default.
    content: fields.Field[Any] = LayerContentField(load_default=None)


class LayerInputSchema(_LayerFields):
    """A new layer as a client sends it; loads into a `NewLayer`."""

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> NewLayer:
        content = load_content(data["type"], data["content"])
        return NewLayer(
            type=data["type"], name=data.get("name", data["type"]), content=content,
            visible=data["visible"], opacity=data["opacity"], transform=data["transform"],
            z_index=data.get("z_index"))


class LayerSchema(_LayerFields):
    """A stored layer: the input plus what the server assigns; loads into a `Layer`."""

    id = Text(required=True, validate=validate.Length(1, ID_LENGTH))
    name = Text(required=True, validate=validate.Length(1, 100))
    z_index = Integer(data_key="zIndex", required=True, validate=Z_INDEX)
    content = LayerContentField(required=True)
    version = Integer(required=True, validate=validate.Range(1, 2**53))
    created_at = epoch_ms(data_key="createdAt", required=True)
    updated_at = epoch_ms(data_key="updatedAt", required=True)
    playback = fields.Nested(PlaybackSchema, allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Layer:
        return Layer(**{**data, "content": load_content(data["type"], data["content"])})


class LayerPatchSchema(_LayerFields):
    """A partial change, loaded with partial=True; its content is checked against the layer's
    type when the store merges it (`apply_patch`)."""

    content = fields.Dict(error_messages={"invalid": "must be an object"})

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
_NEW = LayerInputSchema()
_LAYER = LayerSchema()
_PATCH = LayerPatchSchema()


def load_content(type_name: str, content: Mapping[str, Any] | None) -> LayerContent:
    """`content` loaded by the schema of `type_name`, defaults filled; errors under content.

    None (content left out) stands for {}; if the type needs a field, `content` itself is
    named missing as well as the field.
    """
    layer_type = find_layer_type(type_name)
    if layer_type is None:
        raise ValidationError({"type": [f"must be one of: {', '.join(layer_types())}"]})
    try:
        loaded: LayerContent = layer_type.schema.load(content or {})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        if content is None:
            messages = {"_schema": ["Missing data for required field."], **messages}
        raise ValidationError({"content": messages}) from None
    return loaded


def load_new_layer(wire: Mapping[str, Any]) -> NewLayer:
    """A client's new layer, from camelCase JSON (ValidationError names the fields)."""
    loaded: NewLayer = _NEW.load(wire)
    return loaded


def dump_new_layer(layer: NewLayer) -> dict[str, Any]:
    """A new layer as camelCase JSON (for the message that carries it to the worker)."""
    wire: dict[str, Any] = _NEW.dump(layer)
    if layer.z_index is None:
        wire.pop("zIndex", None)
    return wire


def load_layer(wire: Mapping[str, Any]) -> Layer:
    """A stored layer from camelCase JSON (ValidationError names the fields)."""
    loaded: Layer = _LAYER.load(wire)
    return loaded


def dump_layer(layer: Layer, *, secrets: bool = False) -> dict[str, Any]:
    """A layer as camelCase JSON, as the wire contract shows it: secret content (an input's
    URL) masked, unless `secrets` (only the stored value keeps them)."""
    wire: dict[str, Any] = _LAYER.dump(layer)
    if wire["playback"] is None:
        del wire["playback"]
    return wire if secrets else mask_secrets(wire)


def mask_secrets(wire: dict[str, Any]) -> dict[str, Any]:
    """A layer's JSON as reads show it: its type's secret content (an input's URL) masked.
    Answers `wire` itself when its type has none, else a copy."""
    layer_type = find_layer_type(str(wire.get("type")))
    hidden = layer_type.secret_fields if layer_type is not None else ()
    content = wire.get("content")
    if not hidden or not isinstance(content, dict):
        return wire
    return {**wire, "content": {key: mask_url(value) if key in hidden and value else value
                                for key, value in content.items()}}


def load_patch(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A change checked for shape (each field's own rules) and given back as camelCase JSON;
    content is checked against the layer's type when the change is applied."""
    patch: dict[str, Any] = _PATCH.dump(_PATCH.load(wire, partial=True))
    return patch


def apply_patch(layer: Layer, patch: Mapping[str, Any]) -> Layer:
    """The layer with a camelCase change merged in (transform and content key by key) and
    checked whole. The type of a layer is fixed: a different type needs a new layer."""
    return apply_patch_to_wire(dump_layer(layer, secrets=True), patch)


def apply_patch_to_wire(wire: Mapping[str, Any], patch: Mapping[str, Any]) -> Layer:
    """`apply_patch` on a stored layer's JSON (secrets included), loaded once: the merged
    layer is the only one parsed."""
    if "type" in patch and patch["type"] != wire["type"]:
        raise ValidationError({"type": ["cannot be changed; create a new layer instead"]})
    merged = {**wire, **{k: v for k, v in patch.items() if k not in ("transform", "content")}}
    merged["transform"] = {**wire["transform"], **patch.get("transform", {})}
    content = patch.get("content", {})
    layer_type = find_layer_type(str(wire["type"]))
    # A form sends back the masked secret it was shown: that keeps the real one.
    masked = {key for key in (layer_type.secret_fields if layer_type else ())
              if isinstance(content.get(key), str) and wire["content"].get(key)
              and content[key] == mask_url(wire["content"][key])}
    merged["content"] = {**wire["content"],
                         **{key: value for key, value in content.items() if key not in masked}}
    return load_layer(merged)
