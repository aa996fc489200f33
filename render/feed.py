"""Follows the store for the render thread: one full read, then the event stream.

A full read happens at start, after any Redis error (events may have been missed while it was
away) and every RESYNC_SECONDS as a safety net. The newest event id is taken *before* the full
read, so no event falls between the two; events replayed over the read are harmless because
the scene ignores versions it already has.
"""

from __future__ import annotations

import logging
import queue
import time

from core.loop import BackgroundLoop, OutageLog
from core.store import StateStore
from render.inbox import InboxMessage, SceneEvent, Snapshot
from render.scene import CHAT_KEPT

log = logging.getLogger(__name__)

BLOCK_MS = 500
RESYNC_SECONDS = 30.0
RETRY_SECONDS = 0.5


class FeedFollower(BackgroundLoop):
    """Feeds snapshots and events to the render thread's inbox until stopped."""

    def __init__(self, store: StateStore, inbox: queue.Queue[InboxMessage]) -> None:
        outage = OutageLog(log, "Redis unreachable (%s); the scene stays as it was",
                           back="Redis reachable again; the scene is read anew")
        super().__init__("feed", outage, RETRY_SECONDS)
        self._outage = outage
        self._store = store
        self._inbox = inbox

    def step(self) -> float:
        """Read the store, then follow its events until the next resync; a Redis error starts
        over from a full read."""
        after = self._store.live.latest_event_id()
        self._inbox.put(Snapshot(self._store.stream(), self._store.layers(),
                                 self._store.chat(CHAT_KEPT)))
        # Back as soon as a read succeeds, not only after a whole resync period.
        self._outage.succeeded()
        resync_at = time.monotonic() + RESYNC_SECONDS
        while not self.stopping and time.monotonic() < resync_at:
            after, found = self._store.live.events_after(after, BLOCK_MS)
            for event in found:
                self._inbox.put(SceneEvent(event))
        return 0.0
