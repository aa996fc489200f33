"""Layer changes planned in memory, then committed as one.

A `LayerEdit` applies operations to a working copy of the layers: create, change, delete,
restack, restore. Nothing is written until `plan`, which turns the difference between what was
read and what the copy holds into one commit: the hash changes (compare-and-set on the raw
JSON of every layer touched), the event (a layer's own event for a single change, one
`layers.batch` for several), the history entry and the undo and redo stacks' operations
(core.store.history). Every layer the edit changed gets its version + 1, once, however many
operations touched it; an if-match compares with the version as read.

The layers are read lazily, because a change costs what it parses: a change of one layer
reads that layer alone (HGET); what needs them all (a layer put on top, a restack, the
order of every layer) reads the hash once (HGETALL) and parses only the layers it changes.

Errors name the field they concern under `prefix` (a batch's `operations.<i>.`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import redis
from marshmallow import ValidationError

from core import events
from core.commit import Change, Outcome, Plan, dumps
from core.errors import Conflict, InvalidInput, LimitExceeded, NotFound, VersionConflict
from core.keys import Keys
from core.layers import Layer, NewLayer, dump_layer, find_layer_type, load_layer
from core.layers.playback import Playback
from core.layers.schemas import Z_INDEX, apply_patch_to_wire, mask_secrets
from core.schemas.fields import flatten_messages
from core.show import Actor, Tween, dump_tween
from core.store.history import Difference, HistoryRecord
from core.store.values import StoredValues


@dataclass(frozen=True)
class EditOptions:
    """What a layer change carries besides its operations: who made it, its tween, and when it
    lands on air (epoch ms; None: at once)."""

    actor: Actor
    tween: Tween | None = None
    effective_at: int | None = None


class LayerEdit:
    """A working copy of the layers that operations change; `plan` commits the difference."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues, now: int,
                 max_layers: int) -> None:
        self._redis = client
        self._keys = keys
        self._values = values
        self.now = now
        self._max_layers = max_layers
        # Raw JSON as read, by id (None: read and absent); all of them once `_all_read`.
        self._raws: dict[str, str | None] = {}
        self._wires: dict[str, dict[str, Any] | None] = {}
        self._all_read = False
        self._parsed: dict[str, Layer | None] = {}
        # The working copy of every layer touched (None: deleted), in the order first touched.
        self._working: dict[str, Layer | None] = {}
        # Versions given explicitly (a layer restored by undo after it was deleted).
        self._versions: dict[str, int] = {}

    # ---- reading ------------------------------------------------------------------------

    def current(self, layer_id: str) -> Layer | None:
        """A layer as the working copy has it (None: absent)."""
        if layer_id in self._working:
            return self._working[layer_id]
        return self._as_read(layer_id)

    def get(self, layer_id: str, prefix: str = "") -> Layer:
        """A layer of the working copy, or NotFound naming `<prefix>id`."""
        layer = self.current(layer_id)
        if layer is None:
            raise NotFound(f"no layer with id {layer_id!r}", {f"{prefix}id": "unknown layer"})
        return layer

    def prefetch(self, layer_ids: list[str]) -> None:
        """Read these layers in one round trip (a batch names its layers up front)."""
        wanted = [layer_id for layer_id in dict.fromkeys(layer_ids)
                  if layer_id not in self._raws]
        if wanted and not self._all_read:
            found = cast(list[str | None], self._redis.hmget(self._keys.layers, wanted))
            self._raws.update(zip(wanted, found, strict=True))

    def ids(self) -> list[str]:
        """Every layer id of the working copy."""
        self._read_all()
        present = {layer_id for layer_id, raw in self._raws.items() if raw is not None}
        for layer_id, layer in self._working.items():
            (present.add if layer is not None else present.discard)(layer_id)
        return sorted(present)

    def all(self) -> list[Layer]:
        """Every layer of the working copy, parsed (a take matches them all)."""
        return [layer for layer in map(self.current, self.ids()) if layer is not None]

    # ---- operations ---------------------------------------------------------------------

    def exists(self, layer_id: str, prefix: str = "") -> None:
        """NotFound naming `<prefix>id` unless the working copy has the layer (read as JSON,
        not parsed)."""
        found = (self._working[layer_id] is not None if layer_id in self._working
                 else self._wire_as_read(layer_id) is not None)
        if not found:
            raise NotFound(f"no layer with id {layer_id!r}", {f"{prefix}id": "unknown layer"})

    def check_version(self, layer_id: str, if_match: int | None, prefix: str = "") -> None:
        """VersionConflict unless `if_match` is absent or the version as read."""
        read = self._wire_as_read(layer_id)
        if if_match is None or read is None or read["version"] == if_match:
            return
        raise VersionConflict(
            f"layer {layer_id} is at version {read['version']}, not {if_match}",
            {f"{prefix}ifMatch": f"layer is at version {read['version']}"},
            current=mask_secrets(read))

    def create(self, new: NewLayer, layer_id: str, prefix: str = "") -> Layer:
        """Add a layer (on top when it has no zIndex)."""
        if layer_id in self._working and self._working[layer_id] is not None or (
                layer_id not in self._working and self._wire_as_read(layer_id) is not None):
            raise Conflict(f"a layer with id {layer_id!r} exists",
                           {f"{prefix}id": "already taken"})
        z_index = new.z_index
        if z_index is None:
            top = max((self._z_index(other) for other in self.ids()), default=-1) + 1
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

    def patch(self, layer_id: str, patch: Mapping[str, Any], if_match: int | None = None,
              prefix: str = "") -> Layer:
        """Merge a camelCase change into a layer (core.layers.apply_patch) from its JSON, so
        the merged layer is the only one parsed; a batch's errors are named under
        `<prefix>changes.`, a single change's by the field alone."""
        self.exists(layer_id, prefix)
        self.check_version(layer_id, if_match, prefix)
        working = self._working.get(layer_id)
        wire = (dump_layer(working, secrets=True) if working is not None
                else self._wire_as_read(layer_id))
        try:
            return self.put(apply_patch_to_wire(cast(dict[str, Any], wire), patch))
        except (ValidationError, KeyError, TypeError, AttributeError) as exc:
            # The change's fault, unless the stored layer itself does not parse (then it is
            # quarantined and gone).
            self.get(layer_id, prefix)
            if not isinstance(exc, ValidationError):
                raise
            raise InvalidInput("the change is not valid", flatten_messages(
                exc.messages, f"{prefix}changes" if prefix else "")) from None

    def delete(self, layer_id: str, if_match: int | None = None, prefix: str = "") -> None:
        """Remove a layer."""
        self.exists(layer_id, prefix)
        self.check_version(layer_id, if_match, prefix)
        self._working[layer_id] = None

    def restack(self, ids: list[str], prefix: str = "") -> None:
        """zIndex becomes each layer's position in `ids`, which names every layer once."""
        present = self.ids()
        missing = sorted(set(present) - set(ids))
        unknown = sorted(set(ids) - set(present))
        if missing or unknown or len(set(ids)) != len(ids):
            raise Conflict("the order must name every layer exactly once",
                           {f"{prefix}ids": f"missing {missing}, unknown {unknown}"})
        for position, layer_id in enumerate(ids):
            if self._z_index(layer_id) != position:
                self.patch(layer_id, {"zIndex": position})

    def restore(self, layer_id: str, image: Layer | None) -> None:
        """Make the layer what `image` was (None: absent), for undo and redo: every field but
        the version (moving on) and updatedAt (now)."""
        if image is None:
            if self.current(layer_id) is not None:
                self.delete(layer_id)
            return
        if self.current(layer_id) is None:
            # Deleting made version + 1, so the one it comes back with is one more.
            self._versions[layer_id] = max(self._next_version(layer_id), image.version + 2)
        self.put(image)

    def put(self, layer: Layer) -> Layer:
        """Set a layer of the working copy (its version and updatedAt are set by `plan`)."""
        self._raw(layer.id)  # its raw JSON is what the commit compares with
        self._working[layer.id] = layer
        return layer

    # ---- what changed -----------------------------------------------------------------------

    def differences(self, skip_unchanged: bool = False) -> list[Difference]:
        """Every layer the edit touched, as read and as it will be stored (with its new
        version and updatedAt), in the order first touched. With `skip_unchanged`, a layer put
        back as it was is left out (a take leaves the layers it shares with the scene alone);
        otherwise any touch is a change, as a PATCH that sets what is there is one."""
        found = []
        for layer_id, after in self._working.items():
            before = self._wire_as_read(layer_id)
            if after is not None:
                if skip_unchanged and before is not None and _same(self._as_read(layer_id),
                                                                   after):
                    continue
                after = replace(after, version=self._next_version(layer_id),
                                updated_at=self.now)
            elif before is None:
                continue  # created and deleted by the same edit
            found.append(Difference(
                layer_id, before,
                dump_layer(after, secrets=True) if after is not None else None))
        return found

    def ordered(self, differences: list[Difference] | None = None) -> list[dict[str, Any]]:
        """Every layer as it will be stored, as reads show it, bottom to top: those the edit
        changed from `differences` (default: computed), the others from their raw JSON."""
        changed = {difference.id: difference.after_wire
                   for difference in (differences if differences is not None
                                      else self.differences())}
        shown = []
        for layer_id in self.ids():
            wire = changed.get(layer_id) or self._wire_as_read(layer_id)
            if wire is not None:
                shown.append(mask_secrets(wire))
        return sorted(shown, key=lambda wire: (wire["zIndex"], wire["createdAt"], wire["id"]))

    def _next_version(self, layer_id: str) -> int:
        if layer_id in self._versions:
            return self._versions[layer_id]
        read = self._wire_as_read(layer_id)
        return int(read["version"]) + 1 if read is not None else 1

    # ---- the commit ---------------------------------------------------------------------

    def plan(self, body: Callable[[list[Difference]], Any], status: int, op: str,
             options: EditOptions, record: HistoryRecord, *, event_type: str | None = None,
             as_batch: bool = False, extra: Mapping[str, Any] | None = None,
             skip_unchanged: bool = False,
             event_of: Callable[[list[Difference]], tuple[str, dict[str, Any]]] | None = None,
             ) -> Plan:
        """The commit of everything the edit changed.

        `body` makes the outcome's body from the differences. The event is `event_of(...)`
        when given; else, when one layer changed and not `as_batch`, that layer's event (an
        update's type is `event_type`: a visibility change keeps its own); else one
        `layers.batch`, with `extra` in its data (a take's description).
        """
        differences = self.differences(skip_unchanged)
        outcome = Outcome(status, body(differences))
        if not differences:
            source = options.actor.source
            lists = record.consumed_only(source) if record.popped is not None else []
            return Plan(outcome, lists=lists)
        changes = [Change(self._keys.layers, difference.id, self._raws.get(difference.id),
                          dumps(difference.after_wire) if difference.after_wire else None)
                   for difference in differences]
        event = event_of(differences) if event_of is not None else self._event(
            differences, options, event_type if not as_batch else None, as_batch, extra)
        history, lists = record.entry(op, options.actor, differences, self.now,
                                      options.effective_at)
        added = sum(1 for d in differences if d.before_wire is None) - sum(
            1 for d in differences if d.after_wire is None)
        cap = (self._keys.layers, self._max_layers, LimitExceeded(
            f"at most {self._max_layers} layers (MAX_LAYERS)",
            {"layers": f"limit is {self._max_layers}"})) if added > 0 else None
        return Plan(outcome, changes, event=event, lists=lists, history=history, cap=cap)

    def _event(self, differences: list[Difference], options: EditOptions,
               event_type: str | None, as_batch: bool,
               extra: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
        timing: dict[str, Any] = {}
        if options.tween is not None:
            timing["transition"] = dump_tween(options.tween)
        if options.effective_at is not None:
            timing["effectiveAt"] = options.effective_at
        subs = [_layer_event(difference) for difference in differences]
        if len(subs) == 1 and not as_batch:
            kind, data = subs[0]
            # A single change keeps its own event type (visibility, say), unless it created or
            # deleted the layer.
            if kind == events.LAYER_UPDATED and event_type is not None:
                kind = event_type
            return kind, {**data, **timing}
        batch = [{"type": kind, "data": data} for kind, data in subs]
        return events.LAYERS_BATCH, {"events": batch, **timing, **(extra or {})}

    # ---- internals ----------------------------------------------------------------------

    def _raw(self, layer_id: str) -> str | None:
        if layer_id not in self._raws and not self._all_read:
            self._raws[layer_id] = cast(str | None,
                                        self._redis.hget(self._keys.layers, layer_id))
        return self._raws.get(layer_id)

    def _read_all(self) -> None:
        if not self._all_read:
            read = cast(dict[str, str], self._redis.hgetall(self._keys.layers))
            # A layer read before keeps the raw JSON its parse came from (compare-and-set
            # then fails if it changed in between, and the change is planned again).
            self._raws = {**read, **{layer_id: raw for layer_id, raw in self._raws.items()}}
            self._all_read = True

    def _as_read(self, layer_id: str) -> Layer | None:
        """The layer as stored when the edit read it (a corrupt one is quarantined: absent)."""
        if layer_id not in self._parsed:
            self._parsed[layer_id] = self._values.parse(
                self._keys.layers, layer_id, self._raw(layer_id), load_layer)
        return self._parsed[layer_id]

    def _wire_as_read(self, layer_id: str) -> dict[str, Any] | None:
        """A layer's JSON as read (None: absent or corrupt), parsed as a layer only when it
        does not look like one (then a corrupt one is quarantined)."""
        if layer_id not in self._wires:
            self._wires[layer_id] = self._load_wire(layer_id)
        return self._wires[layer_id]

    def _load_wire(self, layer_id: str) -> dict[str, Any] | None:
        raw = self._raw(layer_id)
        if raw is None:
            return None
        try:
            wire = json.loads(raw)
        except ValueError:
            wire = None
        if isinstance(wire, dict) and wire.get("id") == layer_id and all(
                isinstance(wire.get(key), int) for key in ("zIndex", "createdAt", "version")):
            return wire
        return None if self._as_read(layer_id) is None else cast(dict[str, Any], wire)

    def _z_index(self, layer_id: str) -> int:
        """A layer's zIndex in the working copy, without parsing a layer left as read."""
        layer = self._working.get(layer_id)
        if layer is not None or layer_id in self._working:
            return layer.z_index if layer is not None else 0
        wire = self._wire_as_read(layer_id)
        return int(wire["zIndex"]) if wire is not None else 0


def _layer_event(difference: Difference) -> tuple[str, dict[str, Any]]:
    if difference.after_wire is None:
        assert difference.before_wire is not None
        return events.LAYER_DELETED, {"id": difference.id,
                                      "version": int(difference.before_wire["version"]) + 1}
    kind = events.LAYER_CREATED if difference.before_wire is None else events.LAYER_UPDATED
    return kind, mask_secrets(difference.after_wire)


def _same(before: Layer | None, after: Layer) -> bool:
    """Whether a change left everything but the server's bookkeeping as it was."""
    return before is not None and replace(
        after, version=before.version, updated_at=before.updated_at) == before
