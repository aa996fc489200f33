"""The Celery tasks by name, their queues, and the broker connection both ends share.

The API sends tasks by name and the worker runs them: naming them here lets the API send
without importing the worker, and keeps the two ends from drifting apart.
"""

from __future__ import annotations

from typing import Any, Final

from core.config import Settings
from core.keys import Keys
from core.redis_client import broker_url

# The operator's commands, and apart from them the periodic checks celery beat sends, so a
# backlog of checks never delays a command.
CONTROL_QUEUE: Final = "control"
HEALTH_QUEUE: Final = "health"
QUEUES: Final = (CONTROL_QUEUE, HEALTH_QUEUE)

# Mutations, sent by the API's command bus with a command id and run on CONTROL_QUEUE. Every
# task also takes `channel` (a keyword, core.keys.DEFAULT_CHANNEL when absent): the channel
# whose state it changes.
SET_STREAM_STATE: Final = "stream.set_state"
CREATE_LAYER: Final = "layers.create"
UPDATE_LAYER: Final = "layers.update"
DELETE_LAYER: Final = "layers.delete"
SET_VISIBILITY: Final = "layers.visibility"
REORDER_LAYERS: Final = "layers.reorder"
CONTROL_PLAYBACK: Final = "layers.playback"
POST_CHAT: Final = "chat.post"
CREATE_OUTPUT: Final = "outputs.create"
UPDATE_OUTPUT: Final = "outputs.update"
DELETE_OUTPUT: Final = "outputs.delete"
UPDATE_AUDIO: Final = "audio.update"
CONTROL_BED: Final = "audio.bed"
APPLY_BATCH: Final = "layers.batch"
CREATE_SCENE: Final = "scenes.create"
UPDATE_SCENE: Final = "scenes.update"
DELETE_SCENE: Final = "scenes.delete"
TAKE_SCENE: Final = "scenes.take"
UNDO: Final = "history.undo"
REDO: Final = "history.redo"
CREATE_CUE: Final = "cues.create"
DELETE_CUE: Final = "cues.delete"
# Sent by the beat that holds the lease when a cue falls due (workers/beat.py).
FIRE_CUE: Final = "cues.fire"
# The channel registry (core.store.channels); they run on the default channel's store.
CREATE_CHANNEL: Final = "channels.create"
UPDATE_CHANNEL: Final = "channels.update"
DELETE_CHANNEL: Final = "channels.delete"
COMMANDS: Final = (SET_STREAM_STATE, CREATE_LAYER, UPDATE_LAYER, DELETE_LAYER, SET_VISIBILITY,
                   REORDER_LAYERS, CONTROL_PLAYBACK, POST_CHAT, CREATE_OUTPUT, UPDATE_OUTPUT,
                   DELETE_OUTPUT, UPDATE_AUDIO, CONTROL_BED, APPLY_BATCH, CREATE_SCENE,
                   UPDATE_SCENE, DELETE_SCENE, TAKE_SCENE, UNDO, REDO, CREATE_CUE, DELETE_CUE,
                   FIRE_CUE, CREATE_CHANNEL, UPDATE_CHANNEL, DELETE_CHANNEL)

# Every periodic check's task starts with this; they run on HEALTH_QUEUE.
HEALTH_TASK_PREFIX: Final = "health."

# A task takes milliseconds; a message unacknowledged for 30 s belongs to a dead worker.
BROKER_VISIBILITY_TIMEOUT: Final = 30


def health_check_task(check: str) -> str:
    """The name of the task that runs health check `check` (see core.store.health.CHECKS)."""
    return f"{HEALTH_TASK_PREFIX}{check}"


def broker_options(settings: Settings) -> dict[str, Any]:
    """Celery settings for reaching the broker (its URL, key prefix and timeouts), the same
    for the worker that consumes and for the API that only sends."""
    return {
        "broker_url": broker_url(settings),
        "broker_transport_options": {
            "global_keyprefix": Keys(settings.redis_prefix).celery,
            "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
            "socket_connect_timeout": settings.redis_timeout,
            "socket_timeout": max(settings.redis_timeout, 5.0),
        },
    }
