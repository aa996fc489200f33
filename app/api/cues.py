"""Cues: a batch, a scene take or a stream action that runs at a time, in some ms, or on a
cron expression; listed, read and cancelled."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from app.api.show import check_operations_media
from app.auth import request_actor
from app.http import command_response, json_input, resource_id, resource_response
from app.services import services
from core import tasks
from core.cues import dump_cue, dump_new_cue, load_new_cue
from core.cues.schemas import masked_action
from core.store import now_ms

blueprint = Blueprint("cues", __name__, url_prefix="/stream/cues")


@blueprint.get("")
def list_cues() -> Response:
    """Every cue: the scheduled ones by when they fall due next, then the rest newest first."""
    return resource_response([dump_cue(cue) for cue in services().store.cues.all()])


@blueprint.post("")
def create_cue() -> Response:
    """Schedule a cue; 201 with it and its Location. `inMs` becomes `at` now; an `at` more
    than graceMs in the past, a cron expression croniter refuses, an unknown time zone, a
    batch naming a media file that does not exist or a take of a scene that does not exist
    is 400 naming the field."""
    asked_at = now_ms()
    new = json_input(lambda wire: load_new_cue(wire, asked_at))
    cue = dump_new_cue(new)
    if new.action.kind == "batch":
        check_operations_media(cue["action"]["operations"], "action.operations")
    command_id, outcome = services().bus.run(
        tasks.CREATE_CUE, cue=cue, asked_at=asked_at, actor=request_actor().to_wire(),
        shown={"cue": {**cue, "action": masked_action(cue["action"])}})
    response = command_response(command_id, outcome)
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_cue", cue_id=outcome.body["id"])
    return response


@blueprint.get("/<cue_id>")
def get_cue(cue_id: str) -> Response:
    """One cue, with its state, next time, run count and last run."""
    return resource_response(dump_cue(services().store.cues.get(resource_id(cue_id, "cue"))))


@blueprint.delete("/<cue_id>")
def delete_cue(cue_id: str) -> Response:
    """Cancel a cue (204): it is removed, and never runs."""
    command_id, outcome = services().bus.run(
        tasks.DELETE_CUE, cue_id=resource_id(cue_id, "cue"), actor=request_actor().to_wire())
    return command_response(command_id, outcome)
