"""Layer changes planned in memory, then committed as one.

A `LayerEdit` starts from the layers as read (with their raw JSON, for compare-and-set) and
applies operations to a working copy: create, change, delete, restack, restore. Nothing is
written until `plan`, which turns the difference between what was read and what the copy holds
into one commit: the hash changes, the event (a layer's own event for a single change, one
`layers.batch` for several), the history entry and the undo and redo stacks' operations
(core.store.history). Every layer the edit changed gets its version + 1, once, however many
operations touched it; an if-match compares with the version as read.

Errors name the field they concern under `prefix` (a batch's `operations.<i>.`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from marshmallow import ValidationError

from core import events
from core.commit import Change, Outcome, Plan, dumps
from core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, VersionConflict
from core.keys import Keys
from core.layers import Layer, NewLayer, dump_layer, find_layer_type, layer_order
from core.layers.playback import Playback
from core.layers.schemas import Z_INDEX
from core.schemas.fields import flatten_messages
from core.show import Actor, Tween, dump_tween
from core.store.history import HistoryRecord


@dataclass(frozen=True)
class EditOptions:
    """What a layer change carries besides its operations: who made it, its tween, and when it
    lands on air (epoch ms; None: at once)."""

    actor: Actor
    tween: Tween | None = None
    effective_at: int | None = None


class LayerEdit:
    """A working copy of the layers that operations change; `plan` commits the difference."""

    def __init__(self, keys: Keys, raws: Mapping[str, str], layers: list[Layer], now: int,
                 max_layers: int) -> None:
        self._keys = keys
        self._raws = raws
        self._read = {layer.id: layer for layer in layers}
        self.layers: dict[str, Layer] = dict(self._read)
        # Ids in the order they were first touched (events list them so).
        self._touched: dict[str, None] = {}
        # Versions given explicitly (a layer restored by undo after it was deleted).
        self._versions: dict[str, int] = {}
        self.now = now
        self._max_layers = max_layers

    # ---- operations ---------------------------------------------------------------------

    def get(self, layer_id: str, prefix: str = "") -> Layer:
        """A layer of the working copy, or NotFound naming `<prefix>id`."""
        layer = self.layers.get(layer_id)
        if layer is None:
            raise NotFound(f"no layer with id {layer_id!r}", {f"{prefix}id": "unknown layer"})
        return layer

    def check_version(self, layer_id: str, if_match: int | None, prefix: str = "") -> None:
        """VersionConflict unless `if_match` is absent or the version as read."""
        read = self._read.get(layer_id)
        if if_match is None or read is None or read.version == if_match:
            return
        raise VersionConflict(
            f"layer {layer_id} is at version {read.version}, not {if_match}",
            {f"{prefix}ifMatch": f"layer is at version {read.version}"},
            current=dump_layer(read))

    def create(self, new: NewLayer, layer_id: str, prefix: str = "") -> Layer:
        """Add a layer (on top when it has no zIndex)."""
        if layer_id in self.layers:
            raise Conflict(f"a layer with id {layer_id!r} exists",
                           {f"{prefix}id": "already taken"})
        z_index = new.z_index
        if z_index is None:
            top = max((other.z_index for other in self.layers.values()), default=-1) + 1
            z_index = min(top, Z_INDEX.max)
        layer_type = find_layer_type(new.type)
        layer = Layer(
            id=layer_id, type=new.type, name=new.name, content=new.content,
            visible=new.visible, opacity=new.opacity, transform=new.transform, z_index=z_index,
            version=1, created_at=self.now, updated_at=self.now,
            playback=Playback.started(self.now) if layer_type and layer_type.playable else None)
        return self.put(layer)

    def change(self, layer_id: str, change: Callable[[Layer], Layer],
               if_match: int | None = None, prefix: str = "") -> Layer:
        """Replace a layer by `change(layer)`; a ValidationError becomes a 400 whose fields
        are under `prefix`."""
        layer = self.get(layer_id, prefix)
        self.check_version(layer_id, if_match, prefix)
        try:
            changed = change(layer)
        except ValidationError as exc:
            raise InvalidInput("the change is not valid",
                               flatten_messages(exc.messages, prefix.rstrip("."))) from None
        return self.put(changed)

    def delete(self, layer_id: str, if_match: int | None = None, prefix: str = "") -> None:
        """Remove a layer."""
        self.get(layer_id, prefix)
        self.check_version(layer_id, if_match, prefix)
        del self.layers[layer_id]
        self._touched[layer_id] = None

    def restack(self, ids: list[str], prefix: str = "") -> None:
        """zIndex becomes each layer's position in `ids`, which names every layer once."""
        missing = sorted(set(self.layers) - set(ids))
        unknown = sorted(set(ids) - set(self.layers))
        if missing or unknown or len(set(ids)) != len(ids):
            raise Conflict("the order must name every layer exactly once",
                           {f"{prefix}ids": f"missing {missing}, unknown {unknown}"})
        for position, layer_id in enumerate(ids):
            layer = self.layers[layer_id]
            if layer.z_index != position:
                self.put(replace(layer, z_index=position))

    def restore(self, layer_id: str, image: Layer | None) -> None:
        """Make the layer what `image` was (None: absent), for undo and redo: every field but
        the version (moving on) and updatedAt (now)."""
        if image is None:
            if layer_id in self.layers:
                self.delete(layer_id)
            return
        if layer_id not in self.layers:
            # Deleting made version + 1, so the one it comes back with is one more.
            self._versions[layer_id] = max(self._next_version(layer_id), image.version + 2)
        self.put(image)

    def put(self, layer: Layer) -> Layer:
        """Set a layer of the working copy (its version and updatedAt are set by `plan`)."""
        self.layers[layer.id] = layer
        self._touched[layer.id] = None
        return layer

    # ---- what changed -----------------------------------------------------------------------

    def differences(self, skip_unchanged: bool = False
                    ) -> list[tuple[str, Layer | None, Layer | None]]:
        """(id, as read, as it will be stored) of every layer the edit touched, in the order
        they were first touched; the stored form carries its new version and updatedAt. With
        `skip_unchanged`, a layer put back as it was is left out (a take, say, leaves the
        layers it shares with the scene alone); otherwise any touch is a change, as a PATCH
        that sets what is there is one."""
        found = []
        for layer_id in self._touched:
            before, after = self._read.get(layer_id), self.layers.get(layer_id)
            if after is not None:
                if skip_unchanged and before is not None and _same(before, after):
                    continue
                after = replace(after, version=self._next_version(layer_id),
                                updated_at=self.now)
            elif before is None:
                continue  # created and deleted by the same edit
            found.append((layer_id, before, after))
        return found

    def ordered(self) -> list[Layer]:
        """The layers as they will be stored, bottom to top."""
        stored = {layer_id: after for layer_id, _, after in self.differences()
                  if after is not None}
        return sorted((stored.get(layer_id, layer) for layer_id, layer in self.layers.items()),
                      key=layer_order)

    def _next_version(self, layer_id: str) -> int:
        if layer_id in self._versions:
            return self._versions[layer_id]
        read = self._read.get(layer_id)
        return read.version + 1 if read is not None else 1

    # ---- the commit ---------------------------------------------------------------------

    def plan(self, body: Callable[[list[Layer]], Any], status: int, op: str,
             options: EditOptions, record: HistoryRecord, *, event_type: str | None = None,
             as_batch: bool = False, extra: Mapping[str, Any] | None = None,
             skip_unchanged: bool = False,
             event_of: Callable[[list[Layer]], tuple[str, dict[str, Any]]] | None = None,
             ) -> Plan:
        """The commit of everything the edit changed.

        `body` makes the outcome's body from the changed layers as stored. The event is
        `event_of(changed)` when given; else, when one layer changed and not `as_batch`, that
        layer's event (an update's type is `event_type`: a visibility change keeps its own);
        else one `layers.batch`, with `extra` in its data (a take's description).
        """
        differences = self.differences(skip_unchanged)
        changed = [after for _, _, after in differences if after is not None]
        outcome = Outcome(status, body(changed))
        if not differences:
            source = options.actor.source
            lists = record.consumed_only(source) if record.popped is not None else []
            return Plan(outcome, lists=lists)
        changes = [Change(self._keys.layers, layer_id,
                          self._raws.get(layer_id) if before is not None else None,
                          dumps(dump_layer(after, secrets=True)) if after is not None else None)
                   for layer_id, before, after in differences]
        event = event_of(changed) if event_of is not None else self._event(
            differences, options, event_type if not as_batch else None, as_batch, extra)
        history, lists = record.entry(op, options.actor, differences, self.now,
                                      options.effective_at)
        added = sum(1 for _, before, _ in differences if before is None) - sum(
            1 for _, _, after in differences if after is None)
        cap = (self._keys.layers, self._max_layers, LimitExceeded(
            f"at most {self._max_layers} layers (MAX_LAYERS)",
            {"layers": f"limit is {self._max_layers}"})) if added > 0 else None
        return Plan(outcome, changes, event=event, lists=lists, history=history, cap=cap)

    def _event(self, differences: list[tuple[str, Layer | None, Layer | None]],
               options: EditOptions, event_type: str | None, as_batch: bool,
               extra: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        timing: dict[str, Any] = {}
        if options.tween is not None:
            timing["transition"] = dump_tween(options.tween)
        if options.effective_at is not None:
            timing["effectiveAt"] = options.effective_at
        subs = [_layer_event(before, after) for _, before, after in differences]
        if len(subs) == 1 and not as_batch:
            kind, data = subs[0]
            # A single change keeps its own event type (visibility, say), unless it created or
            # deleted the layer.
            if kind == events.LAYER_UPDATED and event_type is not None:
                kind = event_type
            return kind, {**data, **timing}
        batch = [{"type": kind, "data": data} for kind, data in subs]
        return events.LAYERS_BATCH, {"events": batch, **timing, **(extra or {})}


def _layer_event(before: Layer | None, after: Layer | None) -> tuple[str, dict[str, Any]]:
    if after is None:
        assert before is not None
        return events.LAYER_DELETED, {"id": before.id, "version": before.version + 1}
    if before is None:
        return events.LAYER_CREATED, dump_layer(after)
    return events.LAYER_UPDATED, dump_layer(after)


def _same(before: Layer, after: Layer) -> bool:
    """Whether a change left everything but the server's bookkeeping as it was."""
    return replace(after, version=before.version, updated_at=before.updated_at) == before
