"""Every change of the layers: single ones (create, patch, show or hide, play, delete,
restack), atomic batches, scene takes, and undo and redo.

Each one reads the layers, edits them in memory (core.store.layer_edit) and commits the
difference at once through the command runner: one compare-and-set over every layer it read,
each changed layer's version + 1, one event, one history entry and its undo record.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import redis

from core import events
from core.commit import SEQ, Plan
from core.errors import Conflict
from core.keys import Keys
from core.layers import Layer, NewLayer
from core.layers.schemas import mask_secrets
from core.show import Actor
from core.show.batch import Batch, CreateOp, DeleteOp, Operation, UpdateOp
from core.show.transition import SceneCut, dump_scene_cut
from core.store.history import Difference, History, HistoryRecord
from core.store.layer_edit import EditOptions, LayerEdit
from core.store.scenes import Scene, match_scene
from core.store.values import StoredValues

Runner = Callable[[str, Callable[[], Plan]], Any]


class LayerChanges:
    """Plans and commits layer changes; `run` is the store's command runner."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues, run: Runner,
                 clock: Callable[[], int], max_layers: int, undo_depth: int) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._run = run
        self._clock = clock
        self._max_layers = max_layers
        self._undo_depth = undo_depth
        self.history = History(client, keys)

    # ---- single changes -------------------------------------------------------------------

    def create(self, command_id: str, new: NewLayer, options: EditOptions) -> Any:
        """Add a layer; without a zIndex it goes on top."""
        layer_id = secrets.token_hex(6)

        def plan() -> Plan:
            edit = self._edit()
            edit.create(new, layer_id)
            return edit.plan(_first_shown, 201, "layer.create", options, self._record())

        return self._run(command_id, plan)

    def update(self, command_id: str, layer_id: str, patch: Mapping[str, Any],
               if_match: int | None, options: EditOptions) -> Any:
        """Merge a camelCase change (a PATCH body) into one layer."""

        def plan() -> Plan:
            edit = self._edit()
            edit.patch(layer_id, patch, if_match)
            return edit.plan(_first_shown, 200, "layer.update", options, self._record(),
                             event_type=events.LAYER_UPDATED)

        return self._run(command_id, plan)

    def change(self, command_id: str, layer_id: str, if_match: int | None, op: str,
               event_type: str, change: Callable[[Layer], Layer], options: EditOptions) -> Any:
        """Replace one layer by `change(layer)`; `op` names it in the history."""

        def plan() -> Plan:
            edit = self._edit()
            edit.change(layer_id, change, if_match)
            return edit.plan(_first_shown, 200, op, options, self._record(),
                             event_type=event_type)

        return self._run(command_id, plan)

    def delete(self, command_id: str, layer_id: str, if_match: int | None,
               options: EditOptions) -> Any:
        """Remove a layer (with a tween, the render worker fades it out first)."""

        def plan() -> Plan:
            edit = self._edit()
            edit.delete(layer_id, if_match)
            return edit.plan(lambda changed: None, 204, "layer.delete", options,
                             self._record())

        return self._run(command_id, plan)

    def restack(self, command_id: str, ids: list[str], options: EditOptions) -> Any:
        """zIndex becomes each layer's position in `ids` (every layer, bottom first)."""

        def plan() -> Plan:
            edit = self._edit()
            edit.restack(ids)
            stacked = edit.ordered()
            summary = [{key: layer[key] for key in ("id", "zIndex", "version")}
                       for layer in stacked]
            return edit.plan(lambda differences: stacked, 200, "layers.reorder", options,
                             self._record(),
                             event_of=lambda differences: (events.LAYERS_REORDERED,
                                                           {"layers": summary}))

        return self._run(command_id, plan)

    # ---- batches and takes ----------------------------------------------------------------

    def batch(self, command_id: str, batch: Batch, actor: Actor,
              effective_at: int | None = None) -> Any:
        """Apply every operation or none; one event, so the render worker shows them on one
        frame. Answers the layers after it and one result per operation."""
        new_ids = [secrets.token_hex(6) for _ in batch.operations]

        def plan() -> Plan:
            edit = self._edit()
            edit.prefetch([operation.id for operation in batch.operations
                           if isinstance(operation, (UpdateOp, DeleteOp))])
            results = [self._apply(edit, operation, new_ids[index], f"operations.{index}.")
                       for index, operation in enumerate(batch.operations)]

            def body(differences: list[Difference]) -> dict[str, Any]:
                layers = edit.ordered(differences)
                shown = {layer["id"]: layer for layer in layers}
                return {"seq": SEQ, "layers": layers,
                        "results": [shown.get(result, {"id": result, "deleted": True})
                                    if isinstance(result, str) else result
                                    for result in results]}

            return edit.plan(
                body,
                200, "batch", EditOptions(actor, batch.tween, effective_at), self._record(),
                as_batch=True)

        return self._run(command_id, plan)

    def take(self, command_id: str, scene_of: Callable[[], Scene], cut: SceneCut,
             actor: Actor, effective_at: int | None = None) -> Any:
        """Make a scene the program (core.store.scenes.match_scene decides which layers stay,
        which are created and which go); a fade or wipe is the render worker's."""

        def plan() -> Plan:
            scene = scene_of()
            edit = self._edit()
            for layer_id, image in match_scene(scene.layers, edit.all(), edit.now):
                if image is None:
                    edit.delete(layer_id)
                else:
                    edit.put(image)
            take = {"sceneId": scene.id, "name": scene.name, **dump_scene_cut(cut)}
            return edit.plan(
                lambda differences: {"seq": SEQ,
                                     "scene": {"id": scene.id, "name": scene.name},
                                     "layers": edit.ordered(differences)},
                200, "scene.take", EditOptions(actor, None, effective_at), self._record(),
                as_batch=True, extra={"take": take}, skip_unchanged=True)

        return self._run(command_id, plan)

    # ---- undo and redo --------------------------------------------------------------------

    def undo(self, command_id: str, actor: Actor) -> Any:
        """Revert the newest change still undoable, as a new change."""
        return self._replay(command_id, Actor("undo", actor.role), self.keys.undo,
                            "nothing to undo")

    def redo(self, command_id: str, actor: Actor) -> Any:
        """Replay the newest change undone, as a new change."""
        return self._replay(command_id, Actor("redo", actor.role), self.keys.redo,
                            "nothing to redo")

    def _replay(self, command_id: str, actor: Actor, stack: str, empty: str) -> Any:
        undoing = actor.source == "undo"

        def plan() -> Plan:
            record = self.history.head(stack)
            if record is None:
                raise Conflict(empty, {actor.source: empty})
            edit = self._edit()
            changes = reversed(record.changes) if undoing else iter(record.changes)
            for layer_id, before, after in changes:
                edit.restore(layer_id, before if undoing else after)
            key = "undid" if undoing else "redid"
            return edit.plan(
                lambda differences: {"seq": SEQ, key: record.seq,
                                     "layers": _shown(differences)},
                200, actor.source, EditOptions(actor),
                HistoryRecord(self.keys, self._undo_depth, popped=record))

        return self._run(command_id, plan)

    # ---- internals ----------------------------------------------------------------------

    def _apply(self, edit: LayerEdit, operation: Operation, new_id: str,
               prefix: str) -> str | list[dict[str, Any]]:
        """Apply one batch operation; answers the id its result is read from (or the order)."""
        if isinstance(operation, CreateOp):
            return edit.create(operation.layer, operation.id or new_id, prefix).id
        if isinstance(operation, UpdateOp):
            return edit.patch(operation.id, operation.changes, operation.if_match, prefix).id
        if isinstance(operation, DeleteOp):
            edit.delete(operation.id, operation.if_match, prefix)
            return operation.id
        edit.restack(operation.ids, prefix)
        return [{"id": layer_id, "zIndex": position}
                for position, layer_id in enumerate(operation.ids)]

    def _edit(self) -> LayerEdit:
        return LayerEdit(self.redis, self.keys, self._values, self._clock(), self._max_layers)

    def _record(self) -> HistoryRecord:
        return HistoryRecord(self.keys, self._undo_depth)


def _shown(differences: list[Difference]) -> list[dict[str, Any]]:
    """The layers a change stored, as reads show them."""
    return [mask_secrets(difference.after_wire) for difference in differences
            if difference.after_wire is not None]


def _first_shown(differences: list[Difference]) -> dict[str, Any] | None:
    """The one layer a single change stored, as reads show it."""
    shown = _shown(differences)
    return shown[0] if shown else None
