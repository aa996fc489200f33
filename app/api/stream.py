"""Stream state and control: the desired state is set here; the render worker reconciles."""

from flask import Blueprint, Response

from app.api.channels import channel_fps
from app.auth import request_actor
from app.http import command_response, no_body, resource_response
from app.services import services
from core.tasks import SET_STREAM_STATE

blueprint = Blueprint("stream", __name__, url_prefix="/stream")


@blueprint.get("/status")
def status() -> Response:
    """The stream state of the wire contract, with the channel's `placement` (the render node
    holding it, or why none does)."""
    found = services()
    return resource_response(found.placement.status(found.store, channel_fps(found.store)))


def _control(action: str) -> Response:
    no_body()
    command_id, outcome = services().bus.run(SET_STREAM_STATE, action=action,
                                             actor=request_actor().to_wire())
    if outcome is None or outcome.status != 200:
        return command_response(command_id, outcome)
    return status()


@blueprint.post("/start")
def start() -> Response:
    """Go live (idempotent; resumes a paused stream)."""
    return _control("start")


@blueprint.post("/stop")
def stop() -> Response:
    """Stop streaming (idempotent)."""
    return _control("stop")


@blueprint.post("/pause")
def pause() -> Response:
    """Hold the last frame with silence, keeping ingest connections open."""
    return _control("pause")


@blueprint.post("/resume")
def resume() -> Response:
    """Continue a paused stream."""
    return _control("resume")
