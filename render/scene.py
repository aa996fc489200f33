"""The render worker's copy of what the operator set: desired state, layers and chat.

It is filled from a full read of the store and then kept current by the event stream. Every
resource carries a version, so an event older than what is already known (events replayed
after a full read) changes nothing, and applying the same event twice is harmless.

Show control (DESIGN.md, "Show control"):
- a `layers.batch` event's layer events are applied in one go, in order, each version-guarded
  like a single one: the render thread applies the inbox between two frames, so no frame
  shows half a batch;
- a layer event or batch with a `transition` tweens: `on_air` draws the layers where their
  tweens have them (render.tweens);
- a layer event or batch with `effectiveAt` (epoch ms) is held until `advance` reaches that
  instant (the render thread passes each frame's instant, or the wall clock while it draws
  nothing); its tweens start at that instant. A full read meanwhile keeps it waiting, and the
  change (which the store committed ahead) is taken out of the read again until then;
- a batch that takes a scene with a fade or a wipe leaves a `Take` (the layers on air just
  before it) for the render thread's transition (render.transition).
"""

from __future__ import annotations

import heapq
import itertools
import logging
from dataclasses import dataclass, replace
from typing import Any

from marshmallow import ValidationError

from core import events
from core.layers import Layer, layer_order, load_layer
from core.layers.types.chat import MAX_MESSAGES
from core.schemas import ChatMessageSchema, StreamRecordSchema
from core.show import SceneCut, Tween, load_scene_cut, load_tween
from core.store import StoredEvent
from render.tweens import Tweens

log = logging.getLogger(__name__)

# What the chat layers can show at most.
CHAT_KEPT = MAX_MESSAGES

# The keys of show control in a layer event's or batch's data (DESIGN.md, "Show control").
TRANSITION = "transition"
EFFECTIVE_AT = "effectiveAt"
TAKE = "take"
LAYER_PUTS = (events.LAYER_CREATED, events.LAYER_UPDATED, events.LAYER_VISIBILITY)
DEFERRABLE = (*LAYER_PUTS, events.LAYER_DELETED, events.LAYERS_REORDERED, events.LAYERS_BATCH)
# What the layer schema does not know: show control beside a layer's fields.
_NOT_LAYER = (TRANSITION, EFFECTIVE_AT)

_record_schema = StreamRecordSchema()
_chat_schema = ChatMessageSchema()


@dataclass(frozen=True)
class Take:
    """A scene take that fades or wipes, from `outgoing` (the layers as on air just before it,
    frozen) to the layers after it; `start`: epoch seconds, None for the next frame."""

    cut: SceneCut
    outgoing: list[Layer]
    start: float | None


class Scene:
    """Desired stream state, layers by id and recent chat, with version-guarded updates."""

    def __init__(self) -> None:
        self.desired: dict[str, Any] = {"state": "stopped", "version": 0, "startTime": None}
        self._layers: dict[str, Layer] = {}
        self.chat: list[dict[str, Any]] = []
        self._ordered: list[Layer] | None = None
        # False until the first full read: nothing is drawn from a scene not yet known.
        self.loaded = False
        self._tweens = Tweens()
        # Deferred events: (effective instant in epoch seconds, arrival, event), soonest first.
        self._pending: list[tuple[float, int, StoredEvent]] = []
        self._arrivals = itertools.count()
        self._take: Take | None = None

    @property
    def state(self) -> str:
        """The desired state: stopped, live or paused."""
        return str(self.desired["state"])

    def layers(self) -> list[Layer]:
        """Layers bottom to top (cached until the next change)."""
        if self._ordered is None:
            self._ordered = sorted(self._layers.values(), key=layer_order)
        return self._ordered

    def on_air(self, now: float) -> list[Layer]:
        """The layers to draw at `now`, epoch seconds (tweened, ghosts among them): `layers()`
        itself when nothing moves."""
        return self._tweens.on_air(self.layers(), now)

    def replace(self, desired: dict[str, Any], layers: list[Layer],
                chat: list[dict[str, Any]]) -> None:
        """Take a full read of the store as the new truth (a layer changed by it snaps), but
        for the held changes it already holds (see `_held_back`)."""
        self.desired = desired
        known, self._layers = self._layers, self._held_back({layer.id: layer for layer in layers})
        for layer_id in known.keys() | self._layers.keys():
            before, after = known.get(layer_id), self._layers.get(layer_id)
            if before is None or after is None or before.version != after.version:
                self._tweens.change(before, after, None, None)
        self.chat = chat[-CHAT_KEPT:]
        self._ordered = None
        self.loaded = True

    def _held_back(self, read: dict[str, Layer]) -> dict[str, Layer]:
        """A full read's layers with the held changes taken out again: the store committed
        them ahead of their time, and they must show on their own frame, not with the read.
        A layer the read has at the version a held change gives it stays as the scene has it
        (or absent, if that change creates it); one a held change deletes stays until then.
        A layer the read has at a later version than any held change is taken as read."""
        for _, _, event in self._pending:
            for kind, data in _layer_changes(event):
                try:
                    entries = data["layers"] if kind == events.LAYERS_REORDERED else [data]
                    for entry in entries:
                        self._hold_back(read, kind, str(entry["id"]), int(entry["version"]))
                except (KeyError, TypeError, ValueError):
                    continue  # malformed: it is reported when it falls due
        return read

    def _hold_back(self, read: dict[str, Layer], kind: str, layer_id: str,
                   version: int) -> None:
        found, known = read.get(layer_id), self._layers.get(layer_id)
        if kind == events.LAYER_DELETED:
            if found is None and known is not None and known.version < version:
                read[layer_id] = known
        elif found is not None and found.version == version:
            if known is not None and known.version < version:
                read[layer_id] = known
            elif known is None and kind == events.LAYER_CREATED:
                del read[layer_id]

    def apply(self, event: StoredEvent) -> bool:
        """Apply one event, or hold it until its `effectiveAt`; answers whether anything
        changed."""
        if event.type in DEFERRABLE and event.data.get(EFFECTIVE_AT) is not None:
            try:
                due = float(event.data[EFFECTIVE_AT]) / 1000
            except (TypeError, ValueError):
                log.error("ignoring event %s (%s): effectiveAt is not a time", event.id,
                          event.type)
                return False
            heapq.heappush(self._pending, (due, next(self._arrivals), event))
            return False
        return self._apply_event(event, None)

    @property
    def next_due(self) -> float | None:
        """When the soonest held event falls due (epoch seconds), if any is held."""
        return self._pending[0][0] if self._pending else None

    def advance(self, now: float) -> bool:
        """Apply the held events due at `now` (epoch seconds), soonest first, each starting
        its tweens at its own instant; answers whether anything changed."""
        changed = False
        while self._pending and self._pending[0][0] <= now:
            due, _, event = heapq.heappop(self._pending)
            changed = self._apply_event(event, due) or changed
        return changed

    def pop_take(self) -> Take | None:
        """The latest take to fade or wipe to, once."""
        take, self._take = self._take, None
        return take

    def _apply_event(self, event: StoredEvent, start: float | None) -> bool:
        try:
            if event.type == events.LAYERS_BATCH:
                return self._apply_batch(event, start)
            return self._apply(event.type, event.data, load_tween(event.data.get(TRANSITION)),
                               start)
        except (ValidationError, KeyError, TypeError) as exc:
            log.error("ignoring event %s (%s): %s", event.id, event.type, exc)
            return False

    def _apply_batch(self, event: StoredEvent, start: float | None) -> bool:
        """Every layer event of the batch, in order, each with the batch's transition."""
        data = event.data
        tween = load_tween(data.get(TRANSITION))
        take = data.get(TAKE)
        if take:
            cut = load_scene_cut({"type": take["type"], "durationMs": take["durationMs"]})
            if cut.type != "cut" and cut.duration_ms:
                self._take = Take(cut, self._tweens.drawn(self.layers(), start), start)
        changed = False
        for number, entry in enumerate(data["events"]):
            try:
                changed = self._apply(entry["type"], entry["data"], tween, start) or changed
            except (ValidationError, KeyError, TypeError) as exc:
                # The rest of the batch still lands on this frame.
                log.error("ignoring event %s.%d (%s): %s", event.id, number,
                          entry.get("type") if isinstance(entry, dict) else None, exc)
        return changed

    def _apply(self, kind: str, data: dict[str, Any], tween: Tween | None,
               start: float | None) -> bool:
        if kind in LAYER_PUTS:
            layer = load_layer({key: value for key, value in data.items()
                                if key not in _NOT_LAYER})
            return self._put_layer(layer, tween, start)
        if kind == events.LAYER_DELETED:
            return self._forget_layer(data["id"], tween, start)
        if kind == events.LAYERS_REORDERED:
            return any([self._restack(entry) for entry in data["layers"]])
        if kind == events.STREAM_STATE:
            record = _record_schema.load(
                {key: data[key] for key in ("state", "version", "startTime", "updatedAt")})
            if record["version"] <= self.desired["version"]:
                return False
            self.desired = record
            return True
        if kind == events.CHAT_POSTED:
            message = _chat_schema.load(data)
            if any(known["id"] == message["id"] for known in self.chat):
                return False
            self.chat = [*self.chat, message][-CHAT_KEPT:]
            return True
        return False

    def _put_layer(self, layer: Layer, tween: Tween | None, start: float | None) -> bool:
        known = self._layers.get(layer.id)
        if known is not None and known.version >= layer.version:
            return False
        self._layers[layer.id] = layer
        self._ordered = None
        self._tweens.change(known, layer, tween, start)
        return True

    def _forget_layer(self, layer_id: str, tween: Tween | None, start: float | None) -> bool:
        self._ordered = None
        known = self._layers.pop(layer_id, None)
        if known is None:
            return False
        self._tweens.change(known, None, tween, start)
        return True

    def _restack(self, entry: dict[str, Any]) -> bool:
        known = self._layers.get(entry["id"])
        if known is None or known.version >= entry["version"]:
            return False
        self._layers[entry["id"]] = replace(known, z_index=int(entry["zIndex"]),
                                            version=int(entry["version"]))
        self._ordered = None
        return True


def _layer_changes(event: StoredEvent) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of each layer event in `event` (a batch's, or itself)."""
    if event.type != events.LAYERS_BATCH:
        return [(event.type, event.data)]
    entries = event.data.get("events")
    return [(entry["type"], entry["data"]) for entry in entries
            if isinstance(entry, dict) and "type" in entry and isinstance(entry.get("data"), dict)
            ] if isinstance(entries, list) else []
