"""One task per mutation. Each carries the command id the API made, and the store makes a
redelivered command return its first outcome instead of applying again."""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Task, shared_task

from core.errors import StoreContention
from core.store import StateStore, now_ms

log = logging.getLogger(__name__)

# Redis blips and lost compare-and-set races are worth a retry; domain errors are outcomes.
_RETRY: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (redis.ConnectionError, redis.TimeoutError, StoreContention),
    "retry_backoff": 0.2,
    "retry_backoff_max": 5,
    "retry_jitter": True,
    "max_retries": 5,
}
WORKER_HEARTBEAT_TTL = 60


def _store(task: Task) -> StateStore:
    return task.app.store  # type: ignore[attr-defined, no-any-return]


@shared_task(name="stream.set_state", **_RETRY)
def set_stream_state(self: Task, command_id: str, action: str) -> int:
    """Set the desired stream state: start, stop, pause or resume."""
    return _store(self).set_stream_state(command_id, action).status


@shared_task(name="layers.create", **_RETRY)
def create_layer(self: Task, command_id: str, layer: dict[str, Any]) -> int:
    """Add a layer (already validated by the API)."""
    return _store(self).create_layer(command_id, layer).status


@shared_task(name="layers.update", **_RETRY)
def update_layer(
    self: Task, command_id: str, layer_id: str, patch: dict[str, Any], if_match: int | None
) -> int:
    """Merge a patch into a layer, optionally only at version `if_match`."""
    return _store(self).update_layer(command_id, layer_id, patch, if_match).status


@shared_task(name="layers.delete", **_RETRY)
def delete_layer(self: Task, command_id: str, layer_id: str, if_match: int | None) -> int:
    """Remove a layer, optionally only at version `if_match`."""
    return _store(self).delete_layer(command_id, layer_id, if_match).status


@shared_task(name="layers.visibility", **_RETRY)
def set_visibility(
    self: Task, command_id: str, layer_id: str, visible: bool, if_match: int | None
) -> int:
    """Show or hide a layer."""
    return _store(self).set_visibility(command_id, layer_id, visible, if_match).status


@shared_task(name="layers.reorder", **_RETRY)
def reorder_layers(self: Task, command_id: str, ids: list[str]) -> int:
    """Restack every layer, bottom first."""
    return _store(self).reorder_layers(command_id, ids).status


@shared_task(name="chat.post", **_RETRY)
def post_chat(self: Task, command_id: str, author: str, message: str) -> int:
    """Append a chat message."""
    return _store(self).post_chat(command_id, author, message).status


@shared_task(name="health.check", **_RETRY)
def health_check(self: Task) -> None:
    """Periodic (celery beat): prove a worker consumes the queue, for /health."""
    store = _store(self)
    store.redis.set(store.keys.worker_heartbeat, now_ms(), ex=WORKER_HEARTBEAT_TTL)
