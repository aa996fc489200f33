"""The clients connected to one preview process.

The roster fans text messages out to every client's outbox, keeps the clients' entries in
the store's registry fresh (one write for all of them, so the render worker sees who watches
which quality even with several preview processes), and drops clients that stopped answering
pings: their socket is shut down, which also frees a sender stuck on a client that never reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from app.preview.outbox import Outbox
from core.loop import REDIS_OUTAGE, BackgroundLoop, OutageLog
from core.store import LiveState

log = logging.getLogger(__name__)

REGISTRY_REFRESH_SECONDS = 5.0
# A registry entry outlives three missed refreshes, so a preview process that died without
# forgetting its clients stops costing the render worker JPEG encodes within 15 s.
REGISTRY_TTL_MS = int(3 * REGISTRY_REFRESH_SECONDS * 1000)
REAP_SECONDS = 0.25


class Client(Protocol):
    """What the roster needs of a connected client (a PreviewSession)."""

    client_id: str
    outbox: Outbox

    @property
    def quality(self) -> str: ...

    def last_pong_ms(self) -> int: ...

    def silent_for(self, now: float) -> float: ...

    def abort(self, reason: str) -> None: ...

    def end(self, reason: str) -> None: ...


class Roster(BackgroundLoop):
    """Connected clients: broadcast, registry upkeep and the pong deadline."""

    def __init__(self, live: LiveState, pong_timeout: float) -> None:
        # Its steps never meet an outage: registry writes are guarded one by one.
        super().__init__("preview-roster")
        self._live = live
        self._pong_timeout = pong_timeout
        self._lock = threading.Lock()
        self._clients: set[Client] = set()
        self._registry_outage = OutageLog(log, "preview registry not written (%s); retrying",
                                          back="preview registry written again")
        self._refresh_at = time.monotonic() + REGISTRY_REFRESH_SECONDS

    def add(self, client: Client) -> None:
        """Count `client` in and register it in the store at once."""
        with self._lock:
            self._clients.add(client)
        self.register([client])

    def remove(self, client: Client) -> None:
        """Count `client` out and forget it in the store."""
        with self._lock:
            self._clients.discard(client)
        self._guarded(lambda: self._live.forget_preview_client(client.client_id))

    def register(self, clients: list[Client]) -> None:
        """Write `clients` (id, quality, last pong) to the store's registry."""
        entries = {client.client_id: (client.quality, client.last_pong_ms())
                   for client in clients}
        self._guarded(lambda: self._live.register_preview_clients(entries, REGISTRY_TTL_MS))

    def broadcast_message(self, text: str) -> None:
        """Queue a message for every client."""
        for client in self.clients():
            client.outbox.put_message(text)

    def broadcast_state(self, text: str) -> None:
        """Offer the newest streamState to every client."""
        for client in self.clients():
            client.outbox.put_state(text)

    def broadcast_levels(self, text: str) -> None:
        """Offer the newest audioLevels to every client."""
        for client in self.clients():
            client.outbox.put_levels(text)

    def close_all(self, reason: str) -> None:
        """Close every client's connection, telling them `reason`."""
        for client in self.clients():
            client.end(reason)

    def clients(self) -> list[Client]:
        """The connected clients."""
        with self._lock:
            return list(self._clients)

    def counts(self) -> dict[str, int]:
        """How many clients watch each quality."""
        counts: dict[str, int] = {}
        for client in self.clients():
            counts[client.quality] = counts.get(client.quality, 0) + 1
        return counts

    def step(self) -> float:
        """Drop silent clients (every REAP_SECONDS); refresh the registry every few seconds."""
        now = time.monotonic()
        for client in self.clients():
            if client.silent_for(now) > self._pong_timeout:
                log.info("dropping preview client %s: no pong for %.1f s",
                         client.client_id, self._pong_timeout)
                client.abort("no pong in time")
        if now >= self._refresh_at:
            self.register(self.clients())
            self._refresh_at = now + REGISTRY_REFRESH_SECONDS
        return REAP_SECONDS

    def _guarded(self, write: Callable[[], object]) -> None:
        """Registry writes are advisory: an outage is logged once and the next refresh heals."""
        try:
            write()
        except REDIS_OUTAGE as exc:
            self._registry_outage.failed(exc)
        else:
            self._registry_outage.succeeded()
