"""Layers: list, create, read, patch, delete, visibility and reorder."""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, url_for
from marshmallow import Schema

from app.auth import request_actor
from app.http import (
    command_response,
    if_match,
    json_body,
    json_with_transition,
    resource_id,
    resource_response,
)
from app.services import services
from core import tasks
from core.errors import InvalidInput
from core.layers import (
    dump_new_layer,
    find_layer_type,
    load_layer,
    load_new_layer,
    load_patch,
)
from core.layers.playback import PlaybackActionSchema
from core.layers.schemas import ReorderSchema, VisibilitySchema
from core.media import MediaPathError, resolve_source
from core.schemas.fields import MediaSource
from core.urls import mask_url

blueprint = Blueprint("layers", __name__, url_prefix="/stream/layers")

# Schemas are stateless once built, and building one per request costs more than loading.
_visibility = VisibilitySchema()
_reorder = ReorderSchema()
_playback = PlaybackActionSchema()
_NO_FIELDS = Schema.from_dict({})()


@blueprint.get("")
def list_layers() -> Response:
    """Every layer, bottom (lowest zIndex) first, each with the render worker's `error` for it
    (such as a missing image) or null, a video's `playback` and an input's `input` state."""
    store = services().store
    return resource_response(store.layer_reads(store.layers()))


@blueprint.post("")
def create_layer() -> Response:
    """Add a layer; 201 with the layer and its Location. With a `transition` it fades in."""
    new, transition = json_with_transition(load_new_layer)
    wire = dump_new_layer(new)
    check_media(new.type, wire["content"])
    command_id, outcome = services().bus.run(
        tasks.CREATE_LAYER, layer=wire, transition=transition,
        actor=request_actor().to_wire(),
        shown={"layer": {**wire, "content": masked(new.type, wire["content"])}})
    response = command_response(command_id, outcome)
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_layer", layer_id=outcome.body["id"])
    return response


@blueprint.get("/<layer_id>")
def get_layer(layer_id: str) -> Response:
    """One layer, with its version as ETag and what the render worker reports of it."""
    store = services().store
    return resource_response(store.layer_reads([store.layer(resource_id(layer_id))])[0])


@blueprint.patch("/<layer_id>")
def update_layer(layer_id: str) -> Response:
    """Change some fields; transform and content merge key by key. If-Match makes it
    conditional; a `transition` moves the numbers there on air."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    patch, transition = json_with_transition(load_patch)
    shown = None
    if "content" in patch:
        # The worker checks the content against the layer's type when it merges the change;
        # only whether a media file exists is checked here, where the library is.
        type_name = services().store.layer(layer_id).type
        check_media(type_name, patch["content"])
        shown = {"patch": {**patch, "content": masked(type_name, patch["content"])}}
    command_id, outcome = services().bus.run(
        tasks.UPDATE_LAYER, layer_id=layer_id, patch=patch, if_match=expected,
        transition=transition, actor=request_actor().to_wire(), shown=shown)
    return command_response(command_id, outcome)


@blueprint.post("/<layer_id>/playback")
def control_playback(layer_id: str) -> Response:
    """Play, pause, restart or seek a video layer: {"action": ..., "position": seconds}; answers
    the layer as a read does (position now, duration)."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    body = json_body(_playback)
    store = services().store
    command_id, outcome = services().bus.run(
        tasks.CONTROL_PLAYBACK, layer_id=layer_id, action=body["action"],
        position=body["position"], if_match=expected, actor=request_actor().to_wire())
    if outcome is not None and outcome.status == 200:
        # Answered as a read: the position now, wrapped, with the duration.
        outcome = replace(outcome, body=store.layer_reads([load_layer(outcome.body)])[0])
    return command_response(command_id, outcome)


@blueprint.delete("/<layer_id>")
def delete_layer(layer_id: str) -> Response:
    """Remove a layer (204). If-Match makes it conditional; an optional body
    `{"transition"}` fades it out first."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    _, transition = json_with_transition(_NO_FIELDS.load, optional=True)
    command_id, outcome = services().bus.run(
        tasks.DELETE_LAYER, layer_id=layer_id, if_match=expected, transition=transition,
        actor=request_actor().to_wire())
    return command_response(command_id, outcome)


@blueprint.post("/<layer_id>/visibility")
def set_visibility(layer_id: str) -> Response:
    """Show or hide a layer: {"visible": bool, "transition"?} (with a tween it fades)."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    body, transition = json_with_transition(_visibility.load)
    command_id, outcome = services().bus.run(
        tasks.SET_VISIBILITY, layer_id=layer_id, visible=body["visible"], if_match=expected,
        transition=transition, actor=request_actor().to_wire())
    return command_response(command_id, outcome)


@blueprint.post("/reorder")
def reorder_layers() -> Response:
    """Restack: {"ids": [every layer id, bottom first]}; zIndex becomes the position."""
    body = json_body(_reorder)
    command_id, outcome = services().bus.run(tasks.REORDER_LAYERS, ids=body["ids"],
                                             actor=request_actor().to_wire())
    return command_response(command_id, outcome)


def check_media(type_name: str, content: Mapping[str, Any], prefix: str = "") -> None:
    """Every media file the content names (fields of kind media) must exist in MEDIA_ROOT;
    errors name `<prefix>content.<field>`."""
    layer_type = find_layer_type(type_name)
    if layer_type is None:
        return
    for field in layer_type.schema.fields.values():
        name = field.data_key or field.name or ""
        source = content.get(name)
        if not isinstance(field, MediaSource) or not isinstance(source, str):
            continue
        try:
            path = resolve_source(services().settings.media_root, source)
        except MediaPathError as exc:
            raise InvalidInput("the media source is not allowed",
                               {f"{prefix}content.{name}": str(exc)}) from None
        if not path.is_file():
            raise InvalidInput("the media source does not exist", {
                f"{prefix}content.{name}": f"no file {source!r} in the media library"})


def masked(type_name: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """`content` with its secret fields masked, for what Celery logs and Flower show."""
    layer_type = find_layer_type(type_name)
    hidden = layer_type.secret_fields if layer_type is not None else ()
    return {key: mask_url(value) if key in hidden and isinstance(value, str) else value
            for key, value in content.items()}
