"""Output tasks: add, change and remove destinations and recordings. A stream key never rides
in the task message (Flower shows those): the API stages it in Redis and sends a reference,
which is read once here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.errors import DomainError, InvalidInput
from core.keys import DEFAULT_CHANNEL
from core.outputs import load_new_output, load_output_patch
from core.schemas.fields import flatten_messages
from core.show import Actor
from workers.tasks import RETRY, store_of


@shared_task(name=names.CREATE_OUTPUT, **RETRY)
def create_output(self: Task, command_id: str, output: dict[str, Any],
                  key_ref: str | None, actor: dict[str, Any] | None = None,
                  channel: str = DEFAULT_CHANNEL) -> int:
    """Add an output sent as camelCase JSON without its key, plus the staged key's ref."""
    store = store_of(self, channel)
    try:
        new = load_new_output(output)
        if key_ref is not None:
            new = replace(new, key=store.outputs.take_secret(key_ref))
    except ValidationError as exc:
        refused = InvalidInput("the output is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    except DomainError as exc:
        return store.refuse(command_id, exc).status
    return store.outputs.create(command_id, new, Actor.from_wire(actor)).status


@shared_task(name=names.UPDATE_OUTPUT, **RETRY)
def update_output(self: Task, command_id: str, output_id: str, patch: dict[str, Any],
                  key_ref: str | None, if_match: int | None,
                  actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Change an output: a camelCase change (a key of null removes the key), plus the staged
    new key's ref."""
    store = store_of(self, channel)
    try:
        # A change of the key alone arrives as an empty change plus the key's ref.
        loaded = load_output_patch(patch) if patch or key_ref is None else {}
        if key_ref is not None:
            loaded["key"] = store.outputs.take_secret(key_ref)
    except ValidationError as exc:
        refused = InvalidInput("the change is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    except DomainError as exc:
        return store.refuse(command_id, exc).status
    return store.outputs.update(command_id, output_id, loaded, if_match,
                                Actor.from_wire(actor)).status


@shared_task(name=names.DELETE_OUTPUT, **RETRY)
def delete_output(self: Task, command_id: str, output_id: str, if_match: int | None,
                  actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Remove an output and its key."""
    return store_of(self, channel).outputs.delete(command_id, output_id, if_match,
                                                  Actor.from_wire(actor)).status
