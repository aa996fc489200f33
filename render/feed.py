"""Follows the store for the render thread: one full read, then the event stream.

A full read happens at start, after any Redis error (events may have been missed while it was
away) and every RESYNC_SECONDS as a safety net. The newest event id is taken *before* the full
read, so no event falls between the two; events replayed over the read are harmless because
the scene ignores versions it already has.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import redis

from core.store import StateStore
from render.inbox import InboxMessage, SceneEvent, Snapshot
from render.scene import CHAT_KEPT

log = logging.getLogger(__name__)

BLOCK_MS = 500
RESYNC_SECONDS = 30.0
RETRY_SECONDS = 0.5


class FeedFollower(threading.Thread):
    """Feeds snapshots and events to the render thread's queue until stopped."""

    def __init__(self, store: StateStore, inbox: queue.Queue[InboxMessage]) -> None:
        super().__init__(name="feed", daemon=True)
        self._store = store
        self._inbox = inbox
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask the thread to end after its current read."""
        self._stopping.set()

    def run(self) -> None:
        """Read, follow, and start over after any Redis error."""
        outage_logged = False
        while not self._stopping.is_set():
            try:
                self._follow()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if not outage_logged:
                    log.warning("Redis unreachable (%s); the scene stays as it was", exc)
                    outage_logged = True
                self._stopping.wait(RETRY_SECONDS)
                continue
            outage_logged = False

    def _follow(self) -> None:
        after = self._store.live.latest_event_id()
        self._inbox.put(Snapshot(self._store.stream(), self._store.layers(),
                                    self._store.chat(CHAT_KEPT)))
        resync_at = time.monotonic() + RESYNC_SECONDS
        while not self._stopping.is_set() and time.monotonic() < resync_at:
            after, found = self._store.live.events_after(after, BLOCK_MS)
            for event in found:
                self._inbox.put(SceneEvent(event))
