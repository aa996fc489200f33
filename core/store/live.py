"""Live state: what running processes report, and the event feed they follow.

The render worker writes its telemetry (about once a second) and a heartbeat per instance;
the preview process registers its clients. Readers get validated values, never a crash: a
corrupt entry is quarantined like any other stored value.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis
from marshmallow import Schema

from core.commit import dumps
from core.keys import Keys
from core.schemas import PreviewClientSchema, RenderInstanceSchema, TelemetrySchema
from core.store.values import StoredValues, now_ms

log = logging.getLogger(__name__)

TELEMETRY_FIELD = "status"
# A heartbeat this old belongs to an instance that died without saying goodbye; it is pruned.
HEARTBEAT_FORGET_MS = 60_000
# Long enough to open a WebSocket right after asking, short enough to be useless if leaked.
TICKET_TTL_SECONDS = 30

_telemetry_schema = TelemetrySchema()
_instance_schema = RenderInstanceSchema()
_client_schema = PreviewClientSchema()


@dataclass(frozen=True)
class StoredEvent:
    """One entry of the event stream: its Redis id, type (core.events) and resource JSON."""

    id: str
    type: str
    data: dict[str, Any]


class LiveState:
    """Reads and writes the reports of running processes, and reads the event feed."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues,
                 clock: Callable[[], int] = now_ms) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._clock = clock

    # ---- render telemetry and heartbeats ----------------------------------------------

    def telemetry(self) -> dict[str, Any]:
        """The render worker's last report, or the idle defaults."""
        raw = cast(str | None, self.redis.hget(self.keys.stream, TELEMETRY_FIELD))
        found = self._values.parse(self.keys.stream, TELEMETRY_FIELD, raw, _telemetry_schema.load)
        return found or cast(dict[str, Any], _telemetry_schema.load({}))

    def write_telemetry(self, telemetry: dict[str, Any]) -> None:
        """Replace the telemetry (validated first, so readers never see a bad report)."""
        self.redis.hset(self.keys.stream, TELEMETRY_FIELD,
                        dumps(_telemetry_schema.load(telemetry)))

    def publish_audio_levels(self, levels: Mapping[str, Any]) -> None:
        """Send the audio levels (core.schemas.audio) to every preview process, which relays
        them to its clients as audioLevels. Fire and forget: nobody listening costs nothing."""
        self.redis.publish(self.keys.audio_levels, dumps(levels))

    def beat(self, instance_id: str, role: str, pid: int, host: str, *,
             node: str | None = None, metrics_port: int | None = None,
             source_cost: float = 0.0) -> None:
        """Record that a render instance is alive, and whether it streams or stands by (a
        channel process adds its node, metrics port and source cost)."""
        entry = _instance_schema.load(
            {"id": instance_id, "role": role, "pid": pid, "host": host, "at": self._clock(),
             "node": node, "metricsPort": metrics_port, "sourceCost": source_cost})
        self.redis.hset(self.keys.render_heartbeat, instance_id, dumps(entry))

    def forget_instance(self, instance_id: str) -> None:
        """Drop an instance's heartbeat when it shuts down cleanly."""
        self.redis.hdel(self.keys.render_heartbeat, instance_id)

    def render_instances(self) -> list[dict[str, Any]]:
        """Recent render heartbeats, newest first; long-dead instances are pruned."""
        now = self._clock()
        found = []
        for instance_id, entry in self._hash_entries(self.keys.render_heartbeat,
                                                     _instance_schema):
            if entry is None or now - entry["at"] > HEARTBEAT_FORGET_MS:
                self.redis.hdel(self.keys.render_heartbeat, instance_id)
            else:
                found.append(entry)
        return sorted(found, key=lambda entry: entry["at"], reverse=True)

    def active_heartbeat_age_ms(self) -> int | None:
        """Milliseconds since the newest heartbeat of an active render instance (None when
        none beat within HEARTBEAT_FORGET_MS)."""
        active = [entry["at"] for entry in self.render_instances() if entry["role"] == "active"]
        return max(0, self._clock() - max(active)) if active else None

    # ---- preview clients ----------------------------------------------------------------

    def preview_clients(self) -> list[dict[str, Any]]:
        """Preview clients whose registration has not expired."""
        now = self._clock()
        clients = [client for _, client in self._hash_entries(self.keys.preview_clients,
                                                              _client_schema)
                   if client is not None and client["expiresAt"] > now]
        return sorted(clients, key=lambda client: client["id"])

    def register_preview_clients(self, clients: Mapping[str, tuple[str, int]],
                                 ttl_ms: int) -> None:
        """Record (or refresh), in one write, connected preview clients given as
        id -> (quality, lastPing epoch ms); each entry expires `ttl_ms` from now."""
        if not clients:
            return
        expires_at = self._clock() + ttl_ms
        entries = {
            client_id: dumps(_client_schema.load({
                "id": client_id, "quality": quality, "lastPing": last_ping, "connected": True,
                "expiresAt": expires_at}))
            for client_id, (quality, last_ping) in clients.items()
        }
        # redis-py types `mapping` with invariant keys, which a dict[str, str] cannot match.
        self.redis.hset(self.keys.preview_clients, mapping=cast(dict[Any, Any], entries))

    def expire_preview_clients(self) -> int:
        """Remove registrations past their expiry (their preview process died without saying
        goodbye); answers how many. Unreadable ones are quarantined as they are read."""
        now = self._clock()
        doomed = [client_id for client_id, client in self._hash_entries(
                      self.keys.preview_clients, _client_schema)
                  if client is not None and client["expiresAt"] <= now]
        return self.redis.hdel(self.keys.preview_clients, *doomed) if doomed else 0

    def mark_render_stale(self, message: str) -> None:
        """Say in the telemetry that no render instance reports: no frames, no levels,
        `message` as the error. The next report of a live render instance replaces it."""
        self.write_telemetry({**self.telemetry(), "fps": 0.0, "error": message, "outputs": [],
                              "audio": None})

    def forget_preview_client(self, client_id: str) -> None:
        """Remove a client that disconnected."""
        self.redis.hdel(self.keys.preview_clients, client_id)

    def issue_ticket(self, ttl_seconds: int) -> str:
        """A new single-use preview ticket, valid for `ttl_seconds`."""
        ticket = secrets.token_urlsafe(24)
        self.redis.set(self.keys.preview_ticket(ticket), "1", ex=ttl_seconds)
        return ticket

    def redeem_ticket(self, ticket: str) -> bool:
        """Use a ticket up: True the first time, within its lifetime; False ever after."""
        return self.redis.getdel(self.keys.preview_ticket(ticket)) is not None

    # ---- the event feed -------------------------------------------------------------------

    def latest_event_id(self) -> str:
        """The id of the newest event, or "0-0" when there is none: read after it for news."""
        newest = cast(list[tuple[str, Any]], self.redis.xrevrange(self.keys.events, count=1))
        return newest[0][0] if newest else "0-0"

    def events_after(self, after_id: str, block_ms: int,
                     count: int = 500) -> tuple[str, list[StoredEvent]]:
        """Events newer than `after_id`, waiting up to `block_ms` for the first one, and the id
        to read after next time (malformed entries are skipped but still passed).

        The caller's client needs a read timeout longer than `block_ms`.
        """
        replies = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]] | None,
                       self.redis.xread({self.keys.events: after_id}, count=count,
                                        block=block_ms))
        found = []
        for _stream, entries in replies or ():
            for entry_id, fields in entries:
                after_id = entry_id
                event = self._event(entry_id, fields)
                if event is not None:
                    found.append(event)
        return after_id, found

    def _hash_entries(self, key: str,
                      schema: Schema) -> list[tuple[str, dict[str, Any] | None]]:
        """Each field of hash `key` with its value loaded (None if corrupt: quarantined)."""
        return [(field, self._values.parse(key, field, raw, schema.load))
                for field, raw in cast(dict[str, str], self.redis.hgetall(key)).items()]

    def _event(self, entry_id: str, fields: dict[str, str]) -> StoredEvent | None:
        try:
            data = json.loads(fields["data"])
            if not isinstance(data, dict):
                raise ValueError("data is not a JSON object")
            return StoredEvent(entry_id, fields["type"], data)
        except (KeyError, ValueError) as exc:
            # Events are advisory (a full read heals any gap), so a bad one is skipped.
            log.error("skipping malformed event %s: %s", entry_id, exc)
            return None
