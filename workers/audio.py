"""Program audio tasks: change the settings, and play, pause or cue the bed."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.audio import load_patch
from core.errors import InvalidInput
from core.keys import DEFAULT_CHANNEL
from core.schemas.fields import flatten_messages
from core.show import Actor
from workers.tasks import RETRY, store_of


@shared_task(name=names.UPDATE_AUDIO, **RETRY)
def update_audio(self: Task, command_id: str, patch: dict[str, Any],
                 if_match: int | None, actor: dict[str, Any] | None = None,
                 channel: str = DEFAULT_CHANNEL) -> int:
    """Merge a camelCase change into the audio settings (the API checked it, and that the
    playlist's files exist; it is loaded again here, at the worker's own edge)."""
    store = store_of(self, channel)
    try:
        loaded = load_patch(patch)
    except ValidationError as exc:
        refused = InvalidInput("the change is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    return store.audio.update(command_id, loaded, if_match, Actor.from_wire(actor)).status


@shared_task(name=names.CONTROL_BED, **RETRY)
def control_bed(self: Task, command_id: str, action: str, if_match: int | None,
                actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """play, pause, next, previous or restart the bed."""
    return store_of(self, channel).audio.control_bed(command_id, action, if_match,
                                                     Actor.from_wire(actor)).status
