"""What the preview clients hear besides frames: layer events and the stream state.

One thread per preview process follows the store's event stream: every layer event becomes a
`layerUpdate` (a batch: one per change it made, back to back), and the stream status (the
body of GET /stream/status) is read every STATUS_POLL_SECONDS and after every stream event,
and sent as `streamState` whenever it changed, and while live also every
LIVE_STATE_EVERY_SECONDS when it did not (a little under a second, so a client hears it at
least once a second despite network jitter).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from app.preview.roster import Roster
from core import events
from core.loop import BackgroundLoop, OutageLog
from core.store import StateStore, StoredEvent

log = logging.getLogger(__name__)

STATUS_POLL_SECONDS = 0.25
LIVE_STATE_EVERY_SECONDS = 0.9
RETRY_SECONDS = 0.5
LAYER_EVENTS = frozenset({events.LAYER_CREATED, events.LAYER_UPDATED, events.LAYER_DELETED,
                          events.LAYER_VISIBILITY, events.LAYERS_REORDERED,
                          events.LAYERS_BATCH})

# The longest one XREAD waits: the status is polled in between. The store's client needs a
# read timeout longer than this.
BLOCK_MS = int(STATUS_POLL_SECONDS * 1000)


def message(kind: str, payload: Any) -> str:
    """One text message of the preview protocol."""
    return json.dumps({"type": kind, "payload": payload}, separators=(",", ":"))


def layer_updates(event: StoredEvent) -> list[str]:
    """The `layerUpdate` messages of a layer event: one, or one per change of a batch (marked
    `batch: true`, with the batch's event id), so that clients knowing only single changes
    follow batches too."""
    if event.type != events.LAYERS_BATCH:
        return [message("layerUpdate",
                        {"event": event.type, "eventId": event.id, "data": event.data})]
    return [message("layerUpdate", {"event": change.get("type"), "eventId": event.id,
                                    "data": change.get("data"), "batch": True})
            for change in event.data.get("events", []) if isinstance(change, dict)]


class StateFeed(BackgroundLoop):
    """Follows one channel's events and status for one preview process and broadcasts them;
    after a Redis error it goes on from the last event seen.

    `read_status()` answers the status (the body of GET /stream/status), or None once the
    channel is gone (deleted): then its clients are closed and the feed stops, so no read
    writes the stream record of a deleted channel back.
    """

    def __init__(self, store: StateStore, roster: Roster,
                 read_status: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__(f"preview-feed-{store.keys.channel}",
                         OutageLog(log, "preview feed lost Redis (%s); retrying",
                                   back="preview feed has Redis again"),
                         RETRY_SECONDS)
        self._store = store
        self._read_status = read_status
        self._roster = roster
        self._state: str | None = None
        self._live = False
        self._state_sent_at = 0.0
        self._after_id: str | None = None
        self._next_poll = 0.0

    @property
    def state(self) -> str | None:
        """The last streamState message, for a client that just joined."""
        return self._state

    def prime(self) -> str:
        """Read where the events are now (once), so that none made after this call is missed
        by the thread (a client told hello from now on hears every later change)."""
        if self._after_id is None:
            self._after_id = self._store.live.latest_event_id()
        return self._after_id

    def step(self) -> float:
        """Broadcast the layer events of one read, and the status when it is due."""
        self._after_id, found = self._store.live.events_after(
            self.prime(), self._block_ms(self._next_poll))
        stream_changed = False
        for event in found:
            if event.type in LAYER_EVENTS:
                for text in layer_updates(event):
                    self._roster.broadcast_message(text)
            stream_changed |= event.type == events.STREAM_STATE
        now = time.monotonic()
        if stream_changed or now >= self._next_poll or now >= self._keepalive_at():
            status = self._read_status()
            if status is None:
                self._roster.close_all(f"channel {self._store.keys.channel} was deleted")
                self.stop()
                return 0.0
            self._send_state(now, status)
            self._next_poll = now + STATUS_POLL_SECONDS
        return 0.0  # the read itself waited for events

    def _keepalive_at(self) -> float:
        """When a live stream's state is due again even if unchanged."""
        return self._state_sent_at + LIVE_STATE_EVERY_SECONDS if self._live else float("inf")

    def _block_ms(self, next_poll: float) -> int:
        """Wait for events until the next poll or keep-alive, whichever is first (XREAD
        takes at least 1 ms: 0 would mean forever)."""
        until = min(next_poll, self._keepalive_at()) - time.monotonic()
        return max(1, min(BLOCK_MS, int(until * 1000)))

    def _send_state(self, now: float, status: dict[str, Any]) -> None:
        text = message("streamState", status)
        self._live = bool(status["isLive"])
        if text != self._state or now >= self._keepalive_at():
            self._state = text
            self._state_sent_at = now
            self._roster.broadcast_state(text)
