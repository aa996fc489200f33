"""Batches on the wire: `{"operations": [...], "transition"}`, loaded into typed operations.

Each operation is checked for shape here (its fields' own rules); what depends on the stored
layers (does the id exist, does a change fit the layer's type) is checked when the batch is
applied. Every error is named `operations.<i>.<field>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from core.layers import NewLayer, find_layer_type, layer_types, load_new_layer, load_patch
from core.layers.schemas import ID_LENGTH
from core.schemas.fields import flatten_messages
from core.show.transition import Tween, load_tween
from core.urls import mask_url

MAX_OPERATIONS = 100
OPS = ("create", "update", "delete", "reorder")
# A client-chosen layer id: what a URL path segment carries without escaping.
LAYER_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{ID_LENGTH}}}$")


@dataclass(frozen=True)
class CreateOp:
    """Add `layer`, under `id` when the client chose one."""

    layer: NewLayer
    id: str | None = None


@dataclass(frozen=True)
class UpdateOp:
    """Merge `changes` (a PATCH body) into layer `id`, at version `if_match` if given."""

    id: str
    changes: dict[str, Any]
    if_match: int | None = None


@dataclass(frozen=True)
class DeleteOp:
    """Remove layer `id`, at version `if_match` if given."""

    id: str
    if_match: int | None = None


@dataclass(frozen=True)
class ReorderOp:
    """Restack: `ids` names every layer, bottom first."""

    ids: list[str]


Operation = CreateOp | UpdateOp | DeleteOp | ReorderOp


@dataclass(frozen=True)
class Batch:
    """Operations applied all at once, and the tween every changed layer makes."""

    operations: list[Operation]
    tween: Tween | None = None


def load_batch(wire: Any) -> Batch:
    """A batch from its JSON; ValidationError with flat field names (operations.2.id)."""
    if not isinstance(wire, Mapping):
        raise ValidationError({"_schema": "must be an object"})
    unknown = sorted(set(wire) - {"operations", "transition"})
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    operations = load_operations(wire.get("operations"))
    try:
        tween = load_tween(wire.get("transition"))
    except ValidationError as exc:
        raise ValidationError(flatten_messages(exc.messages, "transition")) from None
    return Batch(operations, tween)


def load_operations(wire: Any, prefix: str = "operations") -> list[Operation]:
    """The operations of a batch (1 to MAX_OPERATIONS), each checked for shape."""
    if not isinstance(wire, list):
        raise ValidationError({prefix: "must be a list of operations"})
    if not 1 <= len(wire) <= MAX_OPERATIONS:
        raise ValidationError({prefix: f"must hold 1 to {MAX_OPERATIONS} operations"})
    errors: dict[str, str] = {}
    operations = []
    for index, item in enumerate(wire):
        try:
            operations.append(_operation(item))
        except ValidationError as exc:
            errors.update(flatten_messages(exc.messages, f"{prefix}.{index}"))
    if errors:
        raise ValidationError(errors)
    return operations


def dump_operation(operation: Operation) -> dict[str, Any]:
    """An operation as JSON again (what a task message or a stored cue carries)."""
    from core.layers import dump_new_layer  # noqa: PLC0415 - only dumping needs it

    if isinstance(operation, CreateOp):
        layer = dump_new_layer(operation.layer)
        return {"op": "create", "layer": {**layer, "id": operation.id} if operation.id
                else layer}
    if isinstance(operation, UpdateOp):
        return {"op": "update", "id": operation.id, "changes": operation.changes,
                **({"ifMatch": operation.if_match} if operation.if_match is not None else {})}
    if isinstance(operation, DeleteOp):
        return {"op": "delete", "id": operation.id,
                **({"ifMatch": operation.if_match} if operation.if_match is not None else {})}
    return {"op": "reorder", "ids": operation.ids}


def _operation(item: Any) -> Operation:
    if not isinstance(item, Mapping):
        raise ValidationError({"_schema": "must be an object"})
    op = item.get("op")
    if op not in OPS:
        raise ValidationError({"op": f"must be one of: {', '.join(OPS)}"})
    allowed = {"create": {"op", "layer"}, "update": {"op", "id", "changes", "ifMatch"},
               "delete": {"op", "id", "ifMatch"}, "reorder": {"op", "ids"}}[op]
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    if op == "create":
        try:
            return load_create(item.get("layer"))
        except ValidationError as exc:
            raise ValidationError({"layer": exc.messages}) from None
    if op == "reorder":
        return ReorderOp(_ids(item.get("ids")))
    layer_id = _layer_id(item.get("id"), "id")
    if_match = _if_match(item.get("ifMatch"))
    if op == "delete":
        return DeleteOp(layer_id, if_match)
    changes = item.get("changes")
    if not isinstance(changes, Mapping):
        raise ValidationError({"changes": "must be an object"})
    try:
        return UpdateOp(layer_id, load_patch(changes), if_match)
    except ValidationError as exc:
        raise ValidationError({"changes": exc.messages}) from None


def load_create(layer: Any) -> CreateOp:
    """A layer body as POST /stream/layers takes it, which may carry the `id` it is to have
    (a batch's create, a scene's layer)."""
    if not isinstance(layer, Mapping):
        raise ValidationError({"_schema": "must be an object"})
    body = dict(layer)
    layer_id = body.pop("id", None)
    if layer_id is not None:
        layer_id = _layer_id(layer_id, "id")
    return CreateOp(load_new_layer(body), layer_id)


def load_layer_bodies(wire: Any, prefix: str) -> list[CreateOp]:
    """A list of layer bodies (a scene's), errors named `<prefix>.<i>.<field>`."""
    if not isinstance(wire, list) or len(wire) > 1000:
        raise ValidationError({prefix: "must be a list of layers"})
    errors: dict[str, str] = {}
    bodies = []
    for index, item in enumerate(wire):
        try:
            bodies.append(load_create(item))
        except ValidationError as exc:
            errors.update(flatten_messages(exc.messages, f"{prefix}.{index}"))
    if errors:
        raise ValidationError(errors)
    return bodies


def _layer_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not LAYER_ID.match(value):
        raise ValidationError({name: f"must be a layer id (1-{ID_LENGTH} letters, digits, "
                                     "- or _)"})
    return value


def _if_match(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**53:
        raise ValidationError({"ifMatch": "must be a version number"})
    return value


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 10_000:
        raise ValidationError({"ids": "must be a list of layer ids"})
    ids = [_layer_id(item, "ids") for item in value]
    if len(set(ids)) != len(ids):
        raise ValidationError({"ids": "must not repeat an id"})
    return ids


def masked_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation with the secret content fields of its layer masked. An update does not
    say its layer's type, so every field that is secret in some type is masked there."""
    if operation.get("op") == "create":
        layer = operation["layer"]
        found = find_layer_type(str(layer.get("type")))
        return {**operation, "layer": _with_masked_content(
            layer, found.secret_fields if found else ())}
    if operation.get("op") == "update":
        secret = {name for kind in layer_types().values() for name in kind.secret_fields}
        return {**operation, "changes": _with_masked_content(operation["changes"], secret)}
    return operation


def _with_masked_content(holder: dict[str, Any], secret: Any) -> dict[str, Any]:
    content = holder.get("content")
    if not isinstance(content, dict):
        return holder
    return {**holder, "content": {
        key: mask_url(value) if key in secret and isinstance(value, str) else value
        for key, value in content.items()}}
