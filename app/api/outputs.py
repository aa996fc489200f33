"""Outputs: RTMP destinations and recordings, added, changed and removed while on air.

A stream key is write-only: reads say `hasKey`. On its way to the worker it is staged in
Redis for a moment and the task carries only a reference, so no task message, log or event
holds it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for

from app.auth import request_actor
from app.http import (
    command_response,
    if_match,
    json_input,
    resource_id,
    resource_response,
)
from app.services import services
from core import tasks
from core.errors import InvalidInput
from core.outputs import (
    dump_new_output,
    dump_output_patch,
    load_new_output,
    load_output_patch,
    split_key,
)

blueprint = Blueprint("outputs", __name__, url_prefix="/stream/outputs")


@blueprint.get("")
def list_outputs() -> Response:
    """Every output, oldest first, each with `state` (stopped, connecting, live,
    reconnecting, failed, disabled, stopping), `error`, `bitrate` (bits/s) and `since`."""
    return resource_response(services().store.output_reads())


@blueprint.post("")
def create_output() -> Response:
    """Add an output; 201 with it and its Location. An added output joins a running stream
    at its next keyframe."""
    new = json_input(load_new_output)
    key_ref = _stage(new.key)
    command_id, outcome = services().bus.run(
        tasks.CREATE_OUTPUT, output=dump_new_output(new), key_ref=key_ref,
        actor=request_actor().to_wire())
    response = command_response(command_id, outcome)
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_output", output_id=outcome.body["id"])
    return response


@blueprint.get("/<output_id>")
def get_output(output_id: str) -> Response:
    """One output with its live state; its version is the ETag."""
    return resource_response(services().store.output_read(resource_id(output_id, "output")))


@blueprint.patch("/<output_id>")
def update_output(output_id: str) -> Response:
    """Change some fields (If-Match makes it conditional). A changed URL or key reconnects
    that output alone; `enabled: false` closes it with its trailer."""
    output_id = resource_id(output_id, "output")
    expected = if_match()
    patch = json_input(load_output_patch)
    if patch.get("url"):
        url, key_in_url = split_key(patch["url"])
        if key_in_url is not None:
            if patch.get("key") not in (None, key_in_url):
                raise InvalidInput("the key is given twice",
                                   {"key": "is also given inside the URL; send it once"})
            patch = {**patch, "url": url, "key": key_in_url}
    key_ref = _stage(patch.get("key"))
    if key_ref is not None:
        patch = {name: value for name, value in patch.items() if name != "key"}
    command_id, outcome = services().bus.run(
        tasks.UPDATE_OUTPUT, output_id=output_id, patch=dump_output_patch(patch),
        key_ref=key_ref, if_match=expected, actor=request_actor().to_wire())
    return command_response(command_id, outcome)


@blueprint.delete("/<output_id>")
def delete_output(output_id: str) -> Response:
    """Remove an output (204); a running one closes with its trailer."""
    output_id = resource_id(output_id, "output")
    command_id, outcome = services().bus.run(
        tasks.DELETE_OUTPUT, output_id=output_id, if_match=if_match(),
        actor=request_actor().to_wire())
    return command_response(command_id, outcome)


def _stage(key: Any) -> str | None:
    """A reference to the key, staged for the worker (None when no key is sent)."""
    if not isinstance(key, str):
        return None
    return services().store.outputs.stage_secret(key)
