"""Render nodes, channel placement and channel leases in Redis.

Each render node writes its record (capacity, load, the channels it holds) into the `nodes`
hash every NODE_BEAT seconds; the one placer (the node holding `placer_lock`) writes each
channel's placement into the `placement` hash; each channel process holds its channel's
`render_lease` only while the placement names its node. The lease's value is the token
"<node id>/<epoch>", where the epoch is the channel's `render_epoch`, incremented at every
placement change: so a node that lost a channel can neither renew nor release its
successor's lease, and what it may publish ends with the deadline of its last tick.

Times are Redis' own clock (TIME inside the scripts), not the nodes': nodes on several
machines are judged alive or dead by one clock.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis

from core.keys import Keys

log = logging.getLogger(__name__)

# A node is alive while its record is at most this old; a node beats four times as often.
NODE_TIMEOUT = 1.0
NODE_BEAT = 0.25
# The placer removes the record of a node dead this long (GET /nodes shows it as lost until).
NODE_FORGET = 60.0
# A channel lease's life: the holder renews it every LEASE_RENEW seconds.
LEASE_TTL = 2.0
LEASE_RENEW = 0.25
FOLLOWER_POLL = 0.1

NODE_STATES = ("up", "draining", "lost")
PLACEMENT_STATES = ("placed", "unplaced")

# The record of a node: its JSON (without `at`, which the script appends from Redis' clock).
_WRITE_NODE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ',"at":' .. string.format('%d', now) .. '}')
return now
"""

# A placement change, made only by the placer holding the lock, and only for a channel that
# still exists. A takeover hands the lease to the new node in the same script if it is free,
# never over a live one: the dead (or frozen) holder may publish until its lease's end.
# ARGV: channel, placer, state, node or '', cost, reason or '', bump epoch
# ('1'/'0'), takeover ('1'/'0'), lease ms, since or '' (now).
_PLACE = """
if redis.call('GET', KEYS[4]) ~= ARGV[2] then return -1 end
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return -2
end
local epoch
if ARGV[7] == '1' then
  epoch = redis.call('INCR', KEYS[2])
else
  epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
end
local since = tonumber(ARGV[10])
if not since then
  local t = redis.call('TIME')
  since = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local node = cjson.null
if ARGV[4] ~= '' then node = ARGV[4] end
local reason = cjson.null
if ARGV[6] ~= '' then reason = ARGV[6] end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({state = ARGV[3], node = node,
  epoch = epoch, since = since, cost = tonumber(ARGV[5]), reason = reason}))
if ARGV[8] == '1' then
  redis.call('SET', KEYS[3], ARGV[4] .. '/' .. string.format('%d', epoch), 'PX', ARGV[9], 'NX')
end
return epoch
"""

# A channel process's tick: take or renew the lease if the placement names this node and the
# lease is free or already this token. Answers the token, or false.
_TICK = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local ok, placement = pcall(cjson.decode, raw)
if not ok or type(placement) ~= 'table' or placement.state ~= 'placed'
    or placement.node ~= ARGV[2] or type(placement.epoch) ~= 'number' then
  return false
end
local token = ARGV[2] .. '/' .. string.format('%d', placement.epoch)
local held = redis.call('GET', KEYS[2])
if held and held ~= token then return false end
if held then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[2], token, 'PX', ARGV[3])
end
return token
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


@dataclass(frozen=True)
class NodeRecord:
    """A render node as its last record says, and how old that record is (seconds, by Redis'
    clock)."""

    id: str
    host: str
    pid: int
    capacity: float
    load: float
    channels: tuple[str, ...]
    costs: dict[str, float]
    draining: bool
    at: int
    age: float
    metrics_port: int | None = None
    children: dict[str, Any] | None = None

    @property
    def alive(self) -> bool:
        """Whether the node beat within NODE_TIMEOUT."""
        return self.age <= NODE_TIMEOUT

    @property
    def state(self) -> str:
        """up, draining (alive, handing its channels over) or lost (no heartbeat)."""
        if not self.alive:
            return "lost"
        return "draining" if self.draining else "up"

    def view(self) -> dict[str, Any]:
        """The node as `GET /nodes` and `/health` show it."""
        return {"id": self.id, "host": self.host, "capacity": self.capacity,
                "load": round(self.load, 4), "channels": list(self.channels),
                "heartbeatAge": round(self.age, 3), "draining": self.draining,
                "state": self.state}

    @classmethod
    def parse(cls, raw: str, now_ms: int) -> NodeRecord | None:
        """The record of stored JSON, or None when it is not a node record."""
        try:
            data = json.loads(raw)
            return cls(
                id=str(data["id"]), host=str(data["host"]), pid=int(data["pid"]),
                capacity=float(data["capacity"]), load=float(data["load"]),
                channels=tuple(str(channel) for channel in data["channels"]),
                costs={str(key): float(value) for key, value in data["costs"].items()},
                draining=bool(data["draining"]), at=int(data["at"]),
                age=max(0.0, (now_ms - int(data["at"])) / 1000),
                metrics_port=(int(data["metricsPort"]) if data.get("metricsPort") is not None
                              else None),
                children=data.get("children"))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


@dataclass(frozen=True)
class Placement:
    """Where a channel runs: `placed` on `node` (its lease token is "<node>/<epoch>"), or
    `unplaced` with the `reason`. `since` (epoch ms) orders a node's channels; `cost` is what
    the channel was counted as."""

    state: str
    node: str | None
    epoch: int
    since: int
    cost: float
    reason: str | None = None

    @property
    def placed(self) -> bool:
        """Whether a node holds the channel."""
        return self.state == "placed" and self.node is not None

    @property
    def token(self) -> str | None:
        """The lease value its node holds the channel with."""
        return f"{self.node}/{self.epoch}" if self.placed else None

    def view(self) -> dict[str, Any]:
        """The placement JSON, as stored and as the API shows it."""
        return {"state": self.state, "node": self.node, "epoch": self.epoch,
                "since": self.since, "cost": round(self.cost, 4), "reason": self.reason}

    @classmethod
    def parse(cls, raw: str) -> Placement | None:
        """The placement of stored JSON, or None when it is not one."""
        try:
            data = json.loads(raw)
            state = str(data["state"])
            if state not in PLACEMENT_STATES:
                return None
            node = data.get("node")
            reason = data.get("reason")
            return cls(state=state, node=None if node is None else str(node),
                       epoch=int(data["epoch"]), since=int(data["since"]),
                       cost=float(data["cost"]), reason=None if reason is None else str(reason))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


class PlacementStore:
    """Reads and writes the deployment's node records and channel placements."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._write_node = client.register_script(_WRITE_NODE)
        self._place = client.register_script(_PLACE)

    # ---- nodes --------------------------------------------------------------------------

    def write_node(self, record: dict[str, Any]) -> int:
        """Store a node's record (its JSON fields but `at`, which is Redis' time now, in epoch
        ms: answered)."""
        text = json.dumps(record, separators=(",", ":"))
        return int(self._write_node(keys=[self.keys.nodes],
                                    args=[record["id"], text[:-1]]))

    def remove_node(self, node_id: str) -> None:
        """Drop a node's record (a clean exit, or a node dead for NODE_FORGET)."""
        self.redis.hdel(self.keys.nodes, node_id)

    def nodes(self) -> list[NodeRecord]:
        """Every node record, with its age by Redis' clock, sorted by id."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.time()
        pipe.hgetall(self.keys.nodes)
        (seconds, micros), stored = pipe.execute()
        now = int(seconds) * 1000 + int(micros) // 1000
        found = []
        for node_id, raw in stored.items():
            record = NodeRecord.parse(raw, now)
            if record is None:
                log.warning("node record %s is not valid JSON of a node; ignored", node_id)
            else:
                found.append(record)
        return sorted(found, key=lambda node: node.id)

    # ---- placements -----------------------------------------------------------------------

    def placements(self) -> dict[str, Placement]:
        """Every channel's placement by channel id (corrupt ones are left out)."""
        found = {}
        stored = cast(dict[str, str], self.redis.hgetall(self.keys.placement))
        for channel, raw in stored.items():
            placement = Placement.parse(raw)
            if placement is not None:
                found[channel] = placement
        return found

    def placement(self, channel: str) -> Placement | None:
        """One channel's placement (None when it has none yet)."""
        raw = cast(str | None, self.redis.hget(self.keys.placement, channel))
        return None if raw is None else Placement.parse(raw)

    def assign(self, channel: str, node: str, cost: float, *, placer: str,
               takeover: bool) -> int | None:
        """Place `channel` on `node` with a new epoch; with `takeover` (its old node is dead)
        the lease, if it has expired, is written for `node` at once (a live one is left to
        expire: its holder may still publish until then, and the new node takes it at its
        next poll after). Answers the epoch, or None when `placer` no longer holds the placer
        lock or the channel is gone."""
        return self._write(channel, placer, "placed", node, cost, None, bump=True,
                           takeover=takeover, since=None)

    def unplace(self, channel: str, cost: float, reason: str, *, placer: str) -> int | None:
        """Mark `channel` unplaced with `reason` (a new epoch: whoever held it stops)."""
        return self._write(channel, placer, "unplaced", None, cost, reason, bump=True,
                           takeover=False, since=None)

    def restate(self, channel: str, placement: Placement, *, placer: str) -> int | None:
        """Rewrite a placement's cost or reason without a new epoch (its holder keeps it)."""
        return self._write(channel, placer, placement.state, placement.node, placement.cost,
                           placement.reason, bump=False, takeover=False, since=placement.since)

    def forget(self, channel: str) -> None:
        """Drop the placement of a channel that no longer exists."""
        self.redis.hdel(self.keys.placement, channel)

    def _write(self, channel: str, placer: str, state: str, node: str | None, cost: float,
               reason: str | None, *, bump: bool, takeover: bool,
               since: int | None) -> int | None:
        channel_keys = self.keys.for_channel(channel)
        epoch = int(self._place(
            keys=[self.keys.placement, channel_keys.render_epoch, channel_keys.render_lease,
                  self.keys.placer_lock, self.keys.channels],
            args=[channel, placer, state, node or "", repr(float(cost)), reason or "",
                  "1" if bump else "0", "1" if takeover else "0", _ms(LEASE_TTL),
                  "" if since is None else str(since)]))
        return epoch if epoch >= 0 else None


class ChannelLease:
    """A channel process's hold on its channel's render lease.

    `tick()` takes or renews the lease while the placement names this node, and answers the
    monotonic deadline until which this process may publish (the time before the call plus
    the lease's life: the lease cannot have passed to anyone before then), or None when the
    channel is not this node's (or its lease is still another's). A leader ticks every
    LEASE_RENEW seconds, a follower every FOLLOWER_POLL.
    """

    def __init__(self, client: redis.Redis, keys: Keys, node_id: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = client
        self.keys = keys
        self.node_id = node_id
        self._clock = clock
        self._tick = client.register_script(_TICK)
        self._release = client.register_script(_RELEASE)
        # The token last held, until released: a lost lease is released only if still ours.
        self.token: str | None = None

    def tick(self) -> float | None:
        """Take or keep the lease; the publish deadline (time.monotonic), or None."""
        before = self._clock()
        token = self._tick(keys=[self.keys.placement, self.keys.render_lease],
                           args=[self.keys.channel, self.node_id, _ms(LEASE_TTL)])
        if not token:
            return None
        self.token = str(token)
        return before + LEASE_TTL

    def release(self) -> None:
        """Give the lease up (if it is still ours), so a successor need not wait for it to
        expire."""
        if self.token is not None:
            self._release(keys=[self.keys.render_lease], args=[self.token])
            self.token = None

    def holder(self) -> str | None:
        """The token holding the lease now (whoever's)."""
        value = self.redis.get(self.keys.render_lease)
        return None if value is None else str(value)
