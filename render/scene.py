"""The render worker's copy of what the operator set: desired state, layers and chat.

It is filled from a full read of the store and then kept current by the event stream. Every
resource carries a version, so an event older than what is already known (events replayed
after a full read) changes nothing, and applying the same event twice is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from marshmallow import ValidationError

from core import events
from core.layers import Layer, layer_order, load_layer
from core.layers.types.chat import MAX_MESSAGES
from core.schemas import ChatMessageSchema, StreamRecordSchema
from core.store import StoredEvent

log = logging.getLogger(__name__)

# What the chat layers can show at most.
CHAT_KEPT = MAX_MESSAGES

_record_schema = StreamRecordSchema()
_chat_schema = ChatMessageSchema()


class Scene:
    """Desired stream state, layers by id and recent chat, with version-guarded updates."""

    def __init__(self) -> None:
        self.desired: dict[str, Any] = {"state": "stopped", "version": 0, "startTime": None}
        self._layers: dict[str, Layer] = {}
        self.chat: list[dict[str, Any]] = []
        self._ordered: list[Layer] | None = None
        # False until the first full read: nothing is drawn from a scene not yet known.
        self.loaded = False

    @property
    def state(self) -> str:
        """The desired state: stopped, live or paused."""
        return str(self.desired["state"])

    def layers(self) -> list[Layer]:
        """Layers bottom to top (cached until the next change)."""
        if self._ordered is None:
            self._ordered = sorted(self._layers.values(), key=layer_order)
        return self._ordered

    def replace(self, desired: dict[str, Any], layers: list[Layer],
                chat: list[dict[str, Any]]) -> None:
        """Take a full read of the store as the new truth."""
        self.desired = desired
        self._layers = {layer.id: layer for layer in layers}
        self.chat = chat[-CHAT_KEPT:]
        self._ordered = None
        self.loaded = True

    def apply(self, event: StoredEvent) -> bool:
        """Apply one event; answers whether anything changed."""
        try:
            return self._apply(event.type, event.data)
        except (ValidationError, KeyError, TypeError) as exc:
            log.error("ignoring event %s (%s): %s", event.id, event.type, exc)
            return False

    def _apply(self, kind: str, data: dict[str, Any]) -> bool:
        if kind in (events.LAYER_CREATED, events.LAYER_UPDATED, events.LAYER_VISIBILITY):
            return self._put_layer(load_layer(data))
        if kind == events.LAYER_DELETED:
            return self._forget_layer(data["id"])
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

    def _put_layer(self, layer: Layer) -> bool:
        known = self._layers.get(layer.id)
        if known is not None and known.version >= layer.version:
            return False
        self._layers[layer.id] = layer
        self._ordered = None
        return True

    def _forget_layer(self, layer_id: str) -> bool:
        self._ordered = None
        return self._layers.pop(layer_id, None) is not None

    def _restack(self, entry: dict[str, Any]) -> bool:
        known = self._layers.get(entry["id"])
        if known is None or known.version >= entry["version"]:
            return False
        self._layers[entry["id"]] = replace(known, z_index=int(entry["zIndex"]),
                                            version=int(entry["version"]))
        self._ordered = None
        return True
