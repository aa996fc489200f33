"""Layers: list, create, read, patch, delete, visibility and reorder."""

from typing import Any

from flask import Blueprint, Response, url_for
from marshmallow import ValidationError

from app.http import command_response, if_match, json_body, resource_id, resource_response
from app.services import services
from core import tasks
from core.errors import InvalidInput
from core.media import MediaPathError, resolve_source
from core.schemas import (
    LayerInputSchema,
    LayerPatchSchema,
    ReorderSchema,
    VisibilitySchema,
    apply_layer_patch,
)
from core.schemas.fields import flatten_messages

blueprint = Blueprint("layers", __name__, url_prefix="/stream/layers")

# Schemas are stateless once built, and building one per request costs more than loading.
_layer_input = LayerInputSchema()
_layer_patch = LayerPatchSchema()
_visibility = VisibilitySchema()
_reorder = ReorderSchema()


@blueprint.get("")
def list_layers() -> Response:
    """Every layer, bottom (lowest zIndex) first, each with the render worker's `error` for it
    (such as a missing image) or null."""
    return resource_response(_with_render_errors(services().store.layers()))


@blueprint.post("")
def create_layer() -> Response:
    """Add a layer; 201 with the layer and its Location."""
    layer = json_body(_layer_input)
    _check_media(layer)
    command_id, outcome = services().bus.run(tasks.CREATE_LAYER, layer=layer)
    response = command_response(command_id, outcome)
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_layer", layer_id=outcome.body["id"])
    return response


@blueprint.get("/<layer_id>")
def get_layer(layer_id: str) -> Response:
    """One layer, with its version as ETag and the render worker's `error` for it."""
    layer = services().store.layer(resource_id(layer_id))
    return resource_response(_with_render_errors([layer])[0])


@blueprint.patch("/<layer_id>")
def update_layer(layer_id: str) -> Response:
    """Change some fields; transform and content merge key by key. If-Match makes it
    conditional."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    patch = json_body(_layer_patch, partial=True)
    if "content" in patch or "type" in patch:
        # Content rules depend on the layer's type, so check the merged result here; every
        # other field was fully checked by the patch schema alone.
        try:
            merged = apply_layer_patch(services().store.layer(layer_id), patch)
        except ValidationError as exc:
            raise InvalidInput("the change is not valid",
                               flatten_messages(exc.messages)) from None
        _check_media(merged)
    command_id, outcome = services().bus.run(
        tasks.UPDATE_LAYER, layer_id=layer_id, patch=patch, if_match=expected)
    return command_response(command_id, outcome)


@blueprint.delete("/<layer_id>")
def delete_layer(layer_id: str) -> Response:
    """Remove a layer (204). If-Match makes it conditional."""
    layer_id = resource_id(layer_id)
    command_id, outcome = services().bus.run(
        tasks.DELETE_LAYER, layer_id=layer_id, if_match=if_match())
    return command_response(command_id, outcome)


@blueprint.post("/<layer_id>/visibility")
def set_visibility(layer_id: str) -> Response:
    """Show or hide a layer: {"visible": bool}."""
    layer_id = resource_id(layer_id)
    expected = if_match()
    body = json_body(_visibility)
    command_id, outcome = services().bus.run(
        tasks.SET_VISIBILITY, layer_id=layer_id, visible=body["visible"], if_match=expected)
    return command_response(command_id, outcome)


@blueprint.post("/reorder")
def reorder_layers() -> Response:
    """Restack: {"ids": [every layer id, bottom first]}; zIndex becomes the position."""
    body = json_body(_reorder)
    command_id, outcome = services().bus.run(tasks.REORDER_LAYERS, ids=body["ids"])
    return command_response(command_id, outcome)


def _check_media(layer: dict[str, Any]) -> None:
    """An image layer must name a file that exists inside MEDIA_ROOT."""
    if layer.get("type") != "image" or "content" not in layer:
        return
    source = layer["content"]["source"]
    try:
        path = resolve_source(services().settings.media_root, source)
    except MediaPathError as exc:
        raise InvalidInput("the image source is not allowed",
                           {"content.source": str(exc)}) from None
    if not path.is_file():
        raise InvalidInput("the image source does not exist",
                           {"content.source": f"no file {source!r} in the media library"})


def _with_render_errors(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = services().store.live.telemetry()["layerErrors"]
    return [{**layer, "error": errors.get(layer["id"])} for layer in layers]
