"""Channels: the programs this deployment runs, listed, created, read, changed and deleted.

A channel read is its JSON (`id`, `name`, the `output` it renders at, `createdAt`, `version`)
with its desired `state`, its `placement` (which render node holds it, or why none does) and
a `status` summary (fps, dropped frames, error, each output's state). Everything else of a
channel is under `/channels/<id>/stream/...` (app.channel_scope).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, url_for

from app.channel_scope import valid_channel_id
from app.http import command_response, if_match, json_input, resource_response
from app.services import services
from core import tasks
from core.channels import effective_output, load_channel_patch, load_new_channel
from core.commit import Outcome
from core.store import StateStore

blueprint = Blueprint("channels", __name__, url_prefix="/channels")

# What a channel read's `status` carries of its stream status, and of each output.
STATUS_FIELDS = ("fps", "targetFPS", "droppedFrames", "error")
OUTPUT_FIELDS = ("id", "name", "state")


def exists(channel_id: str) -> bool:
    """Whether `channel_id` names a channel (for app.channel_scope)."""
    return services().channels.exists(channel_id)


def channel_fps(store: StateStore) -> int:
    """The frame rate `store`'s channel renders at (its own, or RENDER_FPS)."""
    found = services()
    return effective_output(found.channels.get(store.keys.channel), found.settings).fps


@blueprint.get("")
def list_channels() -> Response:
    """Every channel, `default` first then by creation, each with its `state`, `placement`
    and `status`."""
    found = services()
    channels = found.channels.list()
    placements = found.placement.views([channel.id for channel in channels])
    return resource_response([_read(found.channels.read(channel), placements[channel.id])
                              for channel in channels])


@blueprint.post("")
def create_channel() -> Response:
    """Add a channel: `id` (a slug), `name` (unique) and any of `output`'s `width`, `height`,
    `fps`, `videoBitrate` (the rest follow the deployment's settings); 201 with it and its
    Location. It starts stopped; a render node places it at once."""
    body = json_input(_validated(load_new_channel))
    command_id, outcome = services().bus.run(tasks.CREATE_CHANNEL, channel_body=body)
    response = command_response(command_id, _with_reads(outcome))
    if outcome is not None and outcome.status == 201:
        response.headers["Location"] = url_for(".get_channel", channel_id=outcome.body["id"])
    return response


@blueprint.get("/<channel_id>")
def get_channel(channel_id: str) -> Response:
    """One channel with its `state`, `placement` and `status`; its version is the ETag."""
    found = services()
    return resource_response(_read(found.channels.read(found.channels.get(
        valid_channel_id(channel_id)))))


@blueprint.patch("/<channel_id>")
def update_channel(channel_id: str) -> Response:
    """Rename a channel and/or change its `output` (a null setting follows the deployment's
    again). The output changes only while the channel is stopped (409 otherwise). If-Match
    makes it conditional."""
    channel_id = valid_channel_id(channel_id)
    expected = if_match()
    patch = json_input(_validated(load_channel_patch))
    command_id, outcome = services().bus.run(tasks.UPDATE_CHANNEL, channel_id=channel_id,
                                             patch=patch, if_match=expected)
    return command_response(command_id, _with_reads(outcome))


@blueprint.delete("/<channel_id>")
def delete_channel(channel_id: str) -> Response:
    """Delete a stopped channel that no render node streams any more, with everything it
    holds (204). The default channel cannot be deleted, nor a live or paused one (409)."""
    channel_id = valid_channel_id(channel_id)
    command_id, outcome = services().bus.run(tasks.DELETE_CHANNEL, channel_id=channel_id)
    return command_response(command_id, outcome)


def _validated(load: Any) -> Any:
    """A loader that checks the body with `load` and answers it as sent (the worker loads
    it again from the task's JSON)."""

    def check(data: dict[str, Any]) -> dict[str, Any]:
        load(data)
        return data

    return check


def _with_reads(outcome: Outcome | None) -> Outcome | None:
    """A 200 or 201 channel outcome with the channel's state, placement and status."""
    if outcome is None or outcome.status not in (200, 201):
        return outcome
    return replace(outcome, body=_read(outcome.body))


def _read(channel: dict[str, Any], placement: dict[str, Any] | None = None) -> dict[str, Any]:
    """A channel's JSON (with the output it renders at, ChannelStore.read) as reads show it,
    with its state, placement and status (see the module's docstring)."""
    found = services()
    status = found.stores.get(channel["id"]).status(channel["output"]["fps"])
    summary: dict[str, Any] = {name: status[name] for name in STATUS_FIELDS}
    summary["outputs"] = [{name: item[name] for name in OUTPUT_FIELDS}
                          for item in status["outputs"]]
    return {**channel, "state": status["state"],
            "placement": placement or found.placement.view(channel["id"]), "status": summary}
