"""Follows the store for the render thread: one full read, then the event stream.

A full read happens at start, after any Redis error (events may have been missed while it was
away) and every RESYNC_SECONDS as a safety net. The newest event id is taken *before* the full
read, so no event falls between the two; events replayed over the read are harmless because
the scene ignores versions it already has, and the stream ignores targets it already sends to.

Output targets carry stream keys, which no event holds: with each full read, and after each
batch of events that touched an output, the feed reads the targets from the store and sends
them as one `OutputsChanged`, ahead of the snapshot so a stream that starts from that snapshot
opens the outputs the store has. Likewise an event shows an input layer's URL masked: the feed
reads that layer from the store and passes it on whole. The program audio's settings come
the same way as the targets: read from the store with each full read and after each batch of
events that changed them (`AudioChanged`).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from core import events
from core.errors import NotFound
from core.layers import dump_layer, find_layer_type
from core.loop import REDIS_OUTAGE, BackgroundLoop, OutageLog
from core.store import StateStore, StoredEvent
from render.inbox import AudioChanged, InboxMessage, OutputsChanged, SceneEvent, Snapshot
from render.scene import CHAT_KEPT, EFFECTIVE_AT, TRANSITION

log = logging.getLogger(__name__)

BLOCK_MS = 500
RESYNC_SECONDS = 30.0
RETRY_SECONDS = 0.5
OUTPUT_EVENTS = (events.OUTPUT_CREATED, events.OUTPUT_UPDATED, events.OUTPUT_DELETED)
LAYER_EVENTS = (events.LAYER_CREATED, events.LAYER_UPDATED, events.LAYER_VISIBILITY)


class FeedFollower(BackgroundLoop):
    """Feeds snapshots, events and output targets to the render thread's inbox until stopped.

    `seed_outputs` runs once, before the first full read (it is retried while Redis is away):
    it makes the outputs RTMP_URL and RECORD describe when the store has none.
    """

    def __init__(self, store: StateStore, inbox: queue.Queue[InboxMessage],
                 recordings_dir: Path, seed_outputs: Callable[[], None] | None = None) -> None:
        outage = OutageLog(log, "Redis unreachable (%s); the scene stays as it was",
                           back="Redis reachable again; the scene is read anew")
        super().__init__("feed", outage, RETRY_SECONDS)
        self._outage = outage
        self._store = store
        self._inbox = inbox
        self._recordings_dir = recordings_dir
        self._seed_outputs = seed_outputs

    def step(self) -> float:
        """Read the store, then follow its events until the next resync; a Redis error starts
        over from a full read."""
        self._seed_once()
        after = self._store.live.latest_event_id()
        self._send_targets()
        self._send_audio()
        self._inbox.put(Snapshot(self._store.stream(), self._store.layers(),
                                 self._store.chat(CHAT_KEPT)))
        # Back as soon as a read succeeds, not only after a whole resync period.
        self._outage.succeeded()
        resync_at = time.monotonic() + RESYNC_SECONDS
        while not self.stopping and time.monotonic() < resync_at:
            after, found = self._store.live.events_after(after, BLOCK_MS)
            for event in found:
                self._inbox.put(SceneEvent(self._with_secrets(event)))
            if any(event.type in OUTPUT_EVENTS for event in found):
                self._send_targets()
            if any(event.type == events.AUDIO_UPDATED for event in found):
                self._send_audio()
        return 0.0

    def _with_secrets(self, event: StoredEvent) -> StoredEvent:
        """The event, with the stored layer in place of one whose secrets it masks (in each of
        a batch's layer events too)."""
        data = event.data
        if event.type == events.LAYERS_BATCH and isinstance(data.get("events"), list):
            entries = [{**entry, "data": self._layer_with_secrets(entry["type"], entry["data"])}
                       if isinstance(entry, dict) and "type" in entry and "data" in entry
                       else entry for entry in data["events"]]
            return replace(event, data={**data, "events": entries})
        found = self._layer_with_secrets(event.type, data)
        return event if found is data else replace(event, data=found)

    def _layer_with_secrets(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A layer event's data with the stored layer in place of one whose secrets it masks."""
        layer_type = find_layer_type(str(data.get("type", "")))
        if kind not in LAYER_EVENTS or layer_type is None or not layer_type.secret_fields:
            return data
        try:
            stored = self._store.layer(str(data["id"]))
        except NotFound:
            return data  # deleted since; its deletion follows in the stream
        show = {key: data[key] for key in (TRANSITION, EFFECTIVE_AT) if key in data}
        return {**dump_layer(stored, secrets=True), **show}

    def _send_targets(self) -> None:
        self._inbox.put(OutputsChanged(self._store.outputs.targets(self._recordings_dir)))

    def _send_audio(self) -> None:
        self._inbox.put(AudioChanged(self._store.audio.get()[0]))

    def _seed_once(self) -> None:
        seed, self._seed_outputs = self._seed_outputs, None
        if seed is None:
            return
        try:
            seed()
        except REDIS_OUTAGE:
            self._seed_outputs = seed  # try again with the next full read
            raise
        except ValidationError as exc:
            # The messages name fields, never the values (a URL carries its key).
            log.error("RTMP_URL or RECORD could not seed the outputs (%s); add them through "
                      "the API", exc.messages)
