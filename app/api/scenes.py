"""Scenes: named sets of layers to save, define, rename, delete and take on air."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, url_for
from marshmallow import ValidationError

from app.api.layers import check_media, masked
from app.auth import request_actor
from app.http import command_response, if_match, json_input, resource_id, resource_response
from app.services import services
from core import tasks
from core.schemas.fields import flatten_messages
from core.show import dump_scene_cut, load_scene_cut
from core.show.batch import dump_operation, load_layer_bodies
from core.store.scenes import NAME_LENGTH, dump_scene

blueprint = Blueprint("scenes", __name__, url_prefix="/stream/scenes")


@blueprint.get("")
def list_scenes() -> Response:
    """Every scene with its layers, by name."""
    return resource_response([dump_scene(scene) for scene in services().store.scenes.all()])


@blueprint.post("")
def create_scene() -> Response:
    """Save a scene: {"name"} saves the layers on air; {"name", "layers": [...]} defines one
    without going live. 201 with the scene and its Location; 409 on a name in use."""
    body = json_input(lambda data: _scene_body(data, name_required=True))
    command_id, outcome = services().bus.run(
        tasks.CREATE_SCENE, name=body["name"], layers=body.get("layers"),
        actor=request_actor().to_wire(), shown=_shown(body))
    response = command_response(command_id, outcome)
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_scene", scene_id=outcome.body["id"])
    return response


@blueprint.get("/<scene_id>")
def get_scene(scene_id: str) -> Response:
    """One scene; its version is the ETag."""
    scene = services().store.scenes.get(resource_id(scene_id, "scene"))
    return resource_response(dump_scene(scene))


@blueprint.patch("/<scene_id>")
def update_scene(scene_id: str) -> Response:
    """Rename a scene and/or replace its layers: {"name"?, "layers"?}."""
    scene_id = resource_id(scene_id, "scene")
    expected = if_match()
    body = json_input(lambda data: _scene_body(data, name_required=False))
    command_id, outcome = services().bus.run(
        tasks.UPDATE_SCENE, scene_id=scene_id, name=body.get("name"), layers=body.get("layers"),
        if_match=expected, actor=request_actor().to_wire(), shown=_shown(body))
    return command_response(command_id, outcome)


@blueprint.delete("/<scene_id>")
def delete_scene(scene_id: str) -> Response:
    """Remove a scene (204); the program is left as it is."""
    scene_id = resource_id(scene_id, "scene")
    command_id, outcome = services().bus.run(
        tasks.DELETE_SCENE, scene_id=scene_id, actor=request_actor().to_wire())
    return command_response(command_id, outcome)


@blueprint.post("/<scene_id>/take")
def take_scene(scene_id: str) -> Response:
    """Make the scene the program: {"transition": {"type": "cut"|"fade"|"wipe",
    "durationMs"}} (a cut when left out). Layers the scene shares with the program keep
    their sources playing."""
    scene_id = resource_id(scene_id, "scene")
    cut = json_input(_take_body, optional=True)
    command_id, outcome = services().bus.run(
        tasks.TAKE_SCENE, scene_id=scene_id, transition=dump_scene_cut(cut),
        actor=request_actor().to_wire())
    return command_response(command_id, outcome)


def _take_body(data: Mapping[str, Any]) -> Any:
    unknown = sorted(set(data) - {"transition"})
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    try:
        return load_scene_cut(data.get("transition"))
    except ValidationError as exc:
        raise ValidationError(flatten_messages(exc.messages, "transition")) from None


def _scene_body(data: Mapping[str, Any], *, name_required: bool) -> dict[str, Any]:
    """{"name", "layers"}: the name checked, each layer loaded (errors `layers.<i>.<field>`)
    and its media checked; answered as JSON again, for the task."""
    unknown = sorted(set(data) - {"name", "layers"})
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    name = data.get("name")
    body: dict[str, Any] = {}
    if name is not None or name_required:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_LENGTH:
            raise ValidationError({"name": f"must be 1-{NAME_LENGTH} characters"})
        body["name"] = name.strip()
    if "layers" in data:
        bodies = load_layer_bodies(data["layers"], "layers")
        body["layers"] = [dump_operation(layer)["layer"] for layer in bodies]
        for index, (loaded, wire) in enumerate(zip(bodies, body["layers"], strict=True)):
            check_media(loaded.layer.type, wire["content"], f"layers.{index}.")
    if not body:
        raise ValidationError({"_schema": "send a name or layers to change"})
    return body


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    """The task's arguments as Flower shows them: layers' secret content masked."""
    if "layers" not in body:
        return {}
    return {"layers": [{**layer, "content": masked(layer["type"], layer["content"])}
                       for layer in body["layers"]]}


