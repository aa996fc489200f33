"""Program audio: the master volume, the music bed and the loudness settings, with the
render worker's levels.

Reads and answers carry `levels` (null while nothing renders); a change is applied by a
worker and reaches the render worker as an `audio.updated` event.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response

from app.auth import request_actor
from app.http import command_response, if_match, json_body, json_input, resource_response
from app.services import services
from core import tasks
from core.audio import dump_patch, load_patch
from core.audio.schemas import BedActionSchema
from core.commit import Outcome

blueprint = Blueprint("audio", __name__, url_prefix="/stream/audio")

_bed_action = BedActionSchema()


@blueprint.get("")
def get_audio() -> Response:
    """The audio settings (master, bed, loudness), their version as the ETag, and the
    render worker's `levels`."""
    return resource_response(services().store.audio_read())


@blueprint.patch("")
def update_audio() -> Response:
    """Change some settings: any of master, bed and loudness, and any of their fields
    (If-Match makes it conditional). Every playlist entry must be an audio file in the media
    library."""
    expected = if_match()
    media_root = services().settings.media_root
    patch = json_input(lambda wire: load_patch(wire, media_root))
    command_id, outcome = services().bus.run(
        tasks.UPDATE_AUDIO, patch=dump_patch(patch), if_match=expected,
        actor=request_actor().to_wire())
    return command_response(command_id, _with_levels(outcome))


@blueprint.post("/bed")
def control_bed() -> Response:
    """Play or pause the bed, or cue its next, previous or current track from the start:
    {"action": "play" | "pause" | "next" | "previous" | "restart"}."""
    expected = if_match()
    body = json_body(_bed_action)
    command_id, outcome = services().bus.run(
        tasks.CONTROL_BED, action=body["action"], if_match=expected,
        actor=request_actor().to_wire())
    return command_response(command_id, _with_levels(outcome))


def _with_levels(outcome: Outcome | None) -> Outcome | None:
    """A change's answer as a read: with the levels."""
    if outcome is None or outcome.status != 200:
        return outcome
    return replace(outcome, body=services().store.with_levels(outcome.body))
