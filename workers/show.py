"""Show control tasks: batches, scenes (save, change, delete, take), undo and redo.

Each carries the `actor` (core.show.Actor as a dict) the history records. Bodies were checked
by the API and are loaded again here, at the worker's own edge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.errors import InvalidInput
from core.keys import DEFAULT_CHANNEL
from core.layers import Layer
from core.schemas.fields import flatten_messages
from core.show import Actor
from core.show.batch import load_layer_bodies
from core.store import StateStore
from core.store.scenes import scene_layers
from workers.tasks import RETRY, store_of


@shared_task(name=names.APPLY_BATCH, **RETRY)
def apply_batch(self: Task, command_id: str, operations: list[dict[str, Any]],
                transition: dict[str, Any] | None = None,
                actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Apply every operation of a batch, or none."""
    return store_of(self, channel).batch(command_id, operations, transition,
                                         Actor.from_wire(actor)).status


@shared_task(name=names.CREATE_SCENE, **RETRY)
def create_scene(self: Task, command_id: str, name: str,
                 layers: list[dict[str, Any]] | None = None,
                 actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Save a scene: the layers on air, or the ones given."""
    store = store_of(self, channel)
    try:
        chosen = _scene_layers(store, layers)
    except InvalidInput as exc:
        return store.refuse(command_id, exc).status
    return store.scenes.create(command_id, name, chosen).status


@shared_task(name=names.UPDATE_SCENE, **RETRY)
def update_scene(self: Task, command_id: str, scene_id: str, name: str | None = None,
                 layers: list[dict[str, Any]] | None = None, if_match: int | None = None,
                 actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Rename a scene and/or replace its layers."""
    store = store_of(self, channel)
    try:
        chosen = _scene_layers(store, layers) if layers is not None else None
    except InvalidInput as exc:
        return store.refuse(command_id, exc).status
    return store.scenes.update(command_id, scene_id, name, chosen, if_match).status


@shared_task(name=names.DELETE_SCENE, **RETRY)
def delete_scene(self: Task, command_id: str, scene_id: str,
                 actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Remove a scene."""
    return store_of(self, channel).scenes.delete(command_id, scene_id).status


@shared_task(name=names.TAKE_SCENE, **RETRY)
def take_scene(self: Task, command_id: str, scene_id: str,
               transition: dict[str, Any] | None = None,
               actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Make a scene the program with a cut, fade or wipe."""
    return store_of(self, channel).take_scene(command_id, scene_id, transition,
                                              Actor.from_wire(actor)).status


@shared_task(name=names.UNDO, **RETRY)
def undo(self: Task, command_id: str, actor: dict[str, Any] | None = None,
         channel: str = DEFAULT_CHANNEL) -> int:
    """Revert the newest undoable change."""
    return store_of(self, channel).undo(command_id, Actor.from_wire(actor)).status


@shared_task(name=names.REDO, **RETRY)
def redo(self: Task, command_id: str, actor: dict[str, Any] | None = None,
         channel: str = DEFAULT_CHANNEL) -> int:
    """Replay the newest undone change."""
    return store_of(self, channel).redo(command_id, Actor.from_wire(actor)).status


def _scene_layers(store: StateStore, wire: list[dict[str, Any]] | None
                  ) -> Callable[[int], list[Layer]]:
    """What a scene is to hold, made when the change is planned: the layers on air when
    `wire` is None, else the bodies given (InvalidInput when they do not load)."""
    if wire is None:
        return lambda now: store.layers()
    try:
        bodies = load_layer_bodies(wire, "layers")
    except ValidationError as exc:
        raise InvalidInput("the scene is not valid", flatten_messages(exc.messages)) from None
    return lambda now: scene_layers([(body.layer, body.id) for body in bodies], now)
