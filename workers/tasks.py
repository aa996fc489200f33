"""One task per mutation. Each carries the command id the API made, and the store makes a
redelivered command return its first outcome instead of applying again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.errors import InvalidInput, StoreContention, UnknownChannel
from core.keys import CHANNEL_ID_RE, DEFAULT_CHANNEL
from core.layers import load_new_layer
from core.schemas.fields import flatten_messages
from core.show import Actor, load_tween
from core.store import StateStore
from core.store.health import HealthChecks

log = logging.getLogger(__name__)



class ChannelTask(Task):
    """A task that changes one channel's state: when the channel does not exist, a command
    is answered with UnknownChannel (404) as its outcome, and anything else (a health check,
    a cue's run) is dropped; neither creates a key of a channel that does not exist."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except UnknownChannel as exc:
            command_id = kwargs.get("command_id")
            if command_id is None:
                log.warning("%s dropped: %s", self.name, exc.message)
                return None
            return store_of(self).refuse(command_id, exc).status


# Redis blips and lost compare-and-set races are worth a retry; domain errors are outcomes.
RETRY: dict[str, Any] = {
    "bind": True,
    "base": ChannelTask,
    "autoretry_for": (redis.ConnectionError, redis.TimeoutError, StoreContention),
    "retry_backoff": 0.2,
    "retry_backoff_max": 5,
    "retry_jitter": True,
    "max_retries": 5,
}


def store_of(task: Task, channel: str = DEFAULT_CHANNEL) -> StateStore:
    """Channel `channel`'s state store (built once per worker process and channel), or
    UnknownChannel when there is no such channel."""
    app = task.app
    app.migrate()
    if not CHANNEL_ID_RE.match(channel) or not app.channels.exists(channel):
        raise UnknownChannel(channel)
    return app.store_for(channel)  # type: ignore[no-any-return]


# Layer tasks take the tween as JSON (`transition`; the API checked it) and the `actor`
# (core.show.Actor as a dict) the history records; both may be absent.


@shared_task(name=names.SET_STREAM_STATE, **RETRY)
def set_stream_state(self: Task, command_id: str, action: str,
                     actor: dict[str, Any] | None = None,
                     channel: str = DEFAULT_CHANNEL) -> int:
    """Set the desired stream state: start, stop, pause or resume."""
    return store_of(self, channel).set_stream_state(command_id, action,
                                                    Actor.from_wire(actor)).status


@shared_task(name=names.CREATE_LAYER, **RETRY)
def create_layer(self: Task, command_id: str, layer: dict[str, Any],
                 transition: dict[str, Any] | None = None,
                 actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Add a layer, sent as camelCase JSON (the API checked it; it is loaded again here, at
    the worker's own edge)."""
    store = store_of(self, channel)
    try:
        new = load_new_layer(layer)
        tween = load_tween(transition)
    except ValidationError as exc:
        refused = InvalidInput("the layer is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    return store.create_layer(command_id, new, tween, Actor.from_wire(actor)).status


@shared_task(name=names.UPDATE_LAYER, **RETRY)
def update_layer(
    self: Task, command_id: str, layer_id: str, patch: dict[str, Any], if_match: int | None,
    transition: dict[str, Any] | None = None, actor: dict[str, Any] | None = None,
    channel: str = DEFAULT_CHANNEL,
) -> int:
    """Merge a patch into a layer, optionally only at version `if_match`."""
    return store_of(self, channel).update_layer(command_id, layer_id, patch, if_match,
                                                load_tween(transition),
                                                Actor.from_wire(actor)).status


@shared_task(name=names.DELETE_LAYER, **RETRY)
def delete_layer(self: Task, command_id: str, layer_id: str, if_match: int | None,
                 transition: dict[str, Any] | None = None,
                 actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Remove a layer, optionally only at version `if_match`."""
    return store_of(self, channel).delete_layer(command_id, layer_id, if_match,
                                                load_tween(transition),
                                                Actor.from_wire(actor)).status


@shared_task(name=names.SET_VISIBILITY, **RETRY)
def set_visibility(
    self: Task, command_id: str, layer_id: str, visible: bool, if_match: int | None,
    transition: dict[str, Any] | None = None, actor: dict[str, Any] | None = None,
    channel: str = DEFAULT_CHANNEL,
) -> int:
    """Show or hide a layer."""
    return store_of(self, channel).set_visibility(command_id, layer_id, visible, if_match,
                                                  load_tween(transition),
                                                  Actor.from_wire(actor)).status


@shared_task(name=names.REORDER_LAYERS, **RETRY)
def reorder_layers(self: Task, command_id: str, ids: list[str],
                   actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Restack every layer, bottom first."""
    return store_of(self, channel).reorder_layers(command_id, ids,
                                                  Actor.from_wire(actor)).status


@shared_task(name=names.CONTROL_PLAYBACK, **RETRY)
def control_playback(
    self: Task, command_id: str, layer_id: str, action: str, position: float | None,
    if_match: int | None, actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL,
) -> int:
    """Play, pause, restart or seek a video layer."""
    return store_of(self, channel).control_playback(command_id, layer_id, action, position,
                                                    if_match, Actor.from_wire(actor)).status


@shared_task(name=names.POST_CHAT, **RETRY)
def post_chat(self: Task, command_id: str, author: str, message: str,
              channel: str = DEFAULT_CHANNEL) -> int:
    """Append a chat message."""
    return store_of(self, channel).post_chat(command_id, author, message).status


# Periodic checks, one task per channel and check (workers.beat): never retried (the next tick
# runs them again), and given up unrun when they wait longer than a tick (beat sets
# `expires`), so an outage does not leave a burst behind.
def _run_check(task: Task, check: str, run: Callable[[HealthChecks], dict[str, Any]],
               channel: str) -> dict[str, Any]:
    checks = HealthChecks(store_of(task, channel))
    result = run(checks)
    checks.record(check, result)
    return result


@shared_task(name=names.health_check_task("render"), bind=True, base=ChannelTask)
def check_render(self: Task, channel: str = DEFAULT_CHANNEL) -> dict[str, Any]:
    """Flag a stream that should be on air while no render instance reports."""
    return _run_check(self, "render", HealthChecks.check_render, channel)


@shared_task(name=names.health_check_task("preview_clients"), bind=True,
             base=ChannelTask)
def expire_preview_clients(self: Task, channel: str = DEFAULT_CHANNEL) -> dict[str, Any]:
    """Drop preview registrations of preview processes that died."""
    return _run_check(self, "preview_clients", HealthChecks.expire_preview_clients, channel)


@shared_task(name=names.health_check_task("chat"), bind=True, base=ChannelTask)
def trim_chat(self: Task, channel: str = DEFAULT_CHANNEL) -> dict[str, Any]:
    """Keep the chat history within CHAT_HISTORY."""
    return _run_check(self, "chat", HealthChecks.trim_chat, channel)
