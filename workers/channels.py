"""Channel registry tasks: add, change and remove channels (core.store.channels).

They change the deployment's registry, not one channel's state, so the `channel` the API's
command bus sends with every task is not theirs to use; the channel they act on is named in
their own arguments. Bodies were checked by the API and are loaded again here, at the
worker's own edge.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.channels import load_channel_patch, load_new_channel
from core.errors import InvalidInput
from core.keys import DEFAULT_CHANNEL
from core.schemas.fields import flatten_messages
from core.store.channels import ChannelStore
from workers.tasks import RETRY


def channels_of(task: Task) -> ChannelStore:
    """The channel registry of the task's app (after the key layout was checked)."""
    task.app.migrate()  # type: ignore[attr-defined]
    return task.app.channels  # type: ignore[attr-defined, no-any-return]


@shared_task(name=names.CREATE_CHANNEL, **RETRY)
def create_channel(self: Task, command_id: str, channel_body: dict[str, Any],
                   actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Add a channel sent as camelCase JSON (`id`, `name`, `output`)."""
    store = channels_of(self)
    try:
        new = load_new_channel(channel_body)
    except ValidationError as exc:
        refused = InvalidInput("the channel is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    return store.create(command_id, new).status


@shared_task(name=names.UPDATE_CHANNEL, **RETRY)
def update_channel(self: Task, command_id: str, channel_id: str, patch: dict[str, Any],
                   if_match: int | None = None, actor: dict[str, Any] | None = None,
                   channel: str = DEFAULT_CHANNEL) -> int:
    """Rename a channel and/or change its output settings (while it is stopped)."""
    store = channels_of(self)
    try:
        loaded = load_channel_patch(patch)
    except ValidationError as exc:
        refused = InvalidInput("the change is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    return store.update(command_id, channel_id, loaded, if_match).status


@shared_task(name=names.DELETE_CHANNEL, **RETRY)
def delete_channel(self: Task, command_id: str, channel_id: str,
                   actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Remove a stopped channel with every key it owns."""
    return channels_of(self).delete(command_id, channel_id).status
