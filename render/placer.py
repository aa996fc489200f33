"""The placer: decides which render node holds each channel.

One node at a time is the placer (it holds `placer_lock`, a core.lease.Lease as the beat
uses); every PLACER_INTERVAL it reads the nodes, the channels with their costs and the
placements, and writes what changed (core.store.placement: a new placement gets a new
epoch, so its old holder can no longer publish).

The rules (`plan`, a pure function):
- a channel stays on its node while that node is alive, not draining, and its channels
  (in the order they were placed there) fit its capacity;
- any other channel goes to the alive, non-draining node with the most free capacity that
  fits it; a channel whose node died is taken over (the new node gets the lease at once);
- a channel that fits nowhere reads `unplaced`, with the reason;
- a draining node hands its channels over one at a time: the next only once the previous
  one's new node holds its lease (or DRAIN_STEP_TIMEOUT passed); the lease is not taken
  from it, its channel process lets go once it has closed its stream.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, cast

import redis

from core.channels import Channel, channel_cost, effective_output
from core.config import Settings
from core.keys import Keys
from core.lease import Lease
from core.loop import REDIS_OUTAGE, BackgroundLoop, OutageLog
from core.store.channels import ChannelStore
from core.store.placement import (
    NODE_FORGET,
    NodeRecord,
    Placement,
    PlacementStore,
)

log = logging.getLogger(__name__)

PLACER_INTERVAL = 0.25
# Taking the placer lock from a holder whose node is dead (its record stale or gone), so a
# dead placer costs its node's timeout, not the lock's whole life. Safe: a frozen placer that
# comes back can neither renew the lock (owner-checked) nor place (the scripts check it).
_STEAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1 or 0
end
return 0
"""
PLACER_TTL = 2.0
DRAIN_STEP_TIMEOUT = 3.0
# Costs are sums of floats: a channel "fits" what is left unless it is more by this much.
EPSILON = 1e-9
# What a stopped channel costs: it stays placed (its preview renders) for free.
STOPPED = "stopped"


@dataclass(frozen=True)
class Demand:
    """A channel to place: what it costs now, and where it is placed (None: nowhere yet)."""

    id: str
    cost: float
    placement: Placement | None = None


@dataclass(frozen=True)
class Decision:
    """One change of placement: `assign` (to `node`; `takeover` when its old node is
    dead), `unplace` (with `reason`) or `restate` (same node and epoch, a new cost or
    reason)."""

    channel: str
    kind: str
    node: str | None = None
    cost: float = 0.0
    reason: str | None = None
    takeover: bool = False


def _since(demand: Demand) -> tuple[int, int, str]:
    placement = demand.placement
    return (0, placement.since, demand.id) if placement else (1, 0, demand.id)


def plan(nodes: Iterable[NodeRecord], demands: Iterable[Demand],
         may_drain: Collection[str] = ()) -> list[Decision]:
    """The placement changes that bring `demands` to the rules above. `may_drain` names the
    draining nodes that may hand one more channel over now."""
    alive = {node.id: node for node in nodes if node.alive}
    free = {node.id: node.capacity for node in alive.values() if not node.draining}
    decisions: list[Decision] = []
    homeless: list[Demand] = []
    on_draining: list[Demand] = []
    for demand in sorted(demands, key=_since):
        placement = demand.placement
        node = placement.node if placement is not None and placement.placed else None
        if node in free and demand.cost <= free[node] + EPSILON:
            free[node] -= demand.cost
            decisions.extend(_restated(demand))
        elif node in alive and alive[node].draining:
            on_draining.append(demand)
        else:
            homeless.append(demand)
    for demand in homeless:
        target = _roomiest(free, demand.cost)
        if target is None:
            decisions.extend(_unplaced(demand, _reason(demand.cost, free, alive)))
            continue
        free[target] -= demand.cost
        old = demand.placement.node if demand.placement and demand.placement.placed else None
        decisions.append(Decision(demand.id, "assign", target, demand.cost,
                                  takeover=old is not None and old not in alive))
    moving = set(may_drain)
    for demand in on_draining:
        node = cast(Placement, demand.placement).node
        target = _roomiest(free, demand.cost) if node in moving else None
        if target is None:
            decisions.extend(_restated(demand))
            continue
        moving.discard(node)
        free[target] -= demand.cost
        decisions.append(Decision(demand.id, "assign", target, demand.cost))
    return decisions


def _roomiest(free: dict[str, float], cost: float) -> str | None:
    """The node with the most free capacity that fits `cost` (ties: the first by id)."""
    fitting = [node for node in sorted(free) if cost <= free[node] + EPSILON]
    return max(fitting, key=lambda node: free[node]) if fitting else None


def _reason(cost: float, free: dict[str, float], alive: dict[str, NodeRecord]) -> str:
    if free:
        return (f"needs {cost:.2f} units, the most free on any node is "
                f"{max(0.0, max(free.values())):.2f}")
    return "every render node is draining" if alive else "no render node is alive"


def _restated(demand: Demand) -> list[Decision]:
    """A kept placement, rewritten only if its cost changed."""
    placement = cast(Placement, demand.placement)
    if abs(placement.cost - demand.cost) <= 1e-6:
        return []
    return [Decision(demand.id, "restate", placement.node, demand.cost, placement.reason)]


def _unplaced(demand: Demand, reason: str) -> list[Decision]:
    placement = demand.placement
    if placement is None or placement.placed:
        return [Decision(demand.id, "unplace", None, demand.cost, reason)]
    if placement.reason != reason or abs(placement.cost - demand.cost) > 1e-6:
        return [Decision(demand.id, "restate", None, demand.cost, reason)]
    return []


# ---- what the placer reads -------------------------------------------------------------------


def read_demands(channel_store: ChannelStore, settings: Settings,
                 placements: dict[str, Placement]) -> list[Demand]:
    """Every channel with its cost now: nothing when stopped, else its output's cost plus
    what its sources add (as its channel process reports, in its render heartbeat)."""
    client, keys = channel_store.redis, channel_store.keys
    channels = channel_store.list()
    pipe = client.pipeline(transaction=False)
    for channel in channels:
        scoped = keys.for_channel(channel.id)
        pipe.hget(scoped.stream, "desired")
        pipe.hvals(scoped.render_heartbeat)
    replies = pipe.execute()
    return [Demand(channel.id, channel_demand(channel, replies[2 * index],
                                              replies[2 * index + 1], settings),
                   placements.get(channel.id))
            for index, channel in enumerate(channels)]


def channel_demand(channel: Channel, raw_desired: str | None, raw_beats: list[str],
                   settings: Settings) -> float:
    """What a channel costs now, from its stored desired state and render heartbeats."""
    if _state(raw_desired) == STOPPED:
        return 0.0
    return channel_cost(effective_output(channel, settings)) + _source_cost(raw_beats)


def _state(raw: str | None) -> str:
    try:
        state = json.loads(raw)["state"] if raw else STOPPED
    except (ValueError, TypeError, KeyError):
        return STOPPED
    return state if isinstance(state, str) else STOPPED


def _source_cost(raw_beats: list[str]) -> float:
    """The newest `sourceCost` a channel process of the channel reported (0 without)."""
    newest: tuple[int, float] = (-1, 0.0)
    for raw in raw_beats:
        try:
            beat: dict[str, Any] = json.loads(raw)
            at, cost = int(beat["at"]), float(beat.get("sourceCost") or 0.0)
        except (ValueError, TypeError, KeyError):
            continue
        newest = max(newest, (at, cost))
    return max(0.0, newest[1])


# ---- the loop ---------------------------------------------------------------------------


@dataclass
class DrainStep:
    """A channel a draining node handed over: done once `token` holds the lease."""

    channel: str
    token: str
    started: float


class Placer(BackgroundLoop):
    """Runs in every render node; places channels while this node holds the placer lock."""

    def __init__(self, client: redis.Redis, keys: Keys, node_id: str,
                 settings: Settings) -> None:
        super().__init__("placer", OutageLog(log, "cannot reach Redis to place channels (%s)",
                                             back="placing channels again"),
                         retry_seconds=PLACER_INTERVAL)
        self.redis = client
        self.keys = keys
        self.node_id = node_id
        self.settings = settings
        self.store = PlacementStore(client, keys)
        self.channels = ChannelStore(client, keys, settings)
        self.lease = Lease(client, keys.placer_lock, node_id, PLACER_TTL)
        self.held = False
        self._drains: dict[str, DrainStep] = {}
        self._steal = client.register_script(_STEAL)

    def step(self) -> float:
        """Keep or seek the placer lock; place once while held."""
        held = self.lease.keep(self.held) or (not self.held and self._take_from_the_dead())
        if held != self.held:
            self.held = held
            log.info("placer lock %s", "taken: placing channels" if held else "lost")
            self._drains.clear()
        if held:
            try:
                self.place_once()
            except REDIS_OUTAGE:
                raise
            except Exception:
                # A bug or bad data must not end placement for good: the lock is renewed
                # above, so no other node would place instead.
                log.exception("placing channels failed; trying again")
        return PLACER_INTERVAL

    def _take_from_the_dead(self) -> bool:
        """Take the lock if its holder's node record is gone or stale."""
        holder = self.lease.holder()
        if holder is None or any(node.id == holder and node.alive
                                 for node in self.store.nodes()):
            return False
        log.info("the placer %s is not alive: taking the placer lock", holder)
        return bool(self._steal(keys=[self.lease.key],
                                args=[holder, self.node_id, int(PLACER_TTL * 1000)]))

    def stop(self) -> None:
        """End the loop and hand the lock over at once."""
        super().stop()
        if self.held:
            try:
                self.lease.release()
            except redis.RedisError as exc:
                log.warning("could not release the placer lock (%s); it expires", exc)
            self.held = False

    def place_once(self) -> list[Decision]:
        """Read, plan and write one round of placement; the changes made."""
        nodes = self.store.nodes()
        for node in nodes:
            if node.age > NODE_FORGET:
                log.info("forgetting render node %s (no heartbeat for %.0f s)", node.id,
                         node.age)
                self.store.remove_node(node.id)
        placements = self.store.placements()
        demands = read_demands(self.channels, self.settings, placements)
        known = {demand.id for demand in demands}
        for channel in placements.keys() - known:
            if not self.redis.hexists(self.keys.channels, channel):
                self.store.forget(channel)
        decisions = plan(nodes, demands, self._may_drain(nodes, placements))
        for decision in decisions:
            self._apply(decision, placements.get(decision.channel))
        return decisions

    def _may_drain(self, nodes: list[NodeRecord],
                   placements: dict[str, Placement]) -> set[str]:
        ready = set()
        for node in nodes:
            if not (node.alive and node.draining):
                self._drains.pop(node.id, None)
                continue
            step = self._drains.get(node.id)
            if step is None or time.monotonic() - step.started >= DRAIN_STEP_TIMEOUT:
                ready.add(node.id)
            else:
                placement = placements.get(step.channel)
                holder = self.redis.get(self.keys.for_channel(step.channel).render_lease)
                if (placement is None or placement.token != step.token
                        or holder == step.token):
                    ready.add(node.id)
        return ready

    def _apply(self, decision: Decision, was: Placement | None) -> None:
        if decision.kind == "assign":
            assert decision.node is not None
            epoch = self.store.assign(decision.channel, decision.node, decision.cost,
                                      placer=self.node_id, takeover=decision.takeover)
            if epoch is None:
                return
            old = was.node if was is not None else None
            log.info("channel %s placed on %s (epoch %d, cost %.2f%s)", decision.channel,
                     decision.node, epoch, decision.cost,
                     f", taken over from {old}" if decision.takeover else
                     f", moved from {old}" if old else "")
            if old is not None and not decision.takeover and was is not None and was.placed:
                self._drains[old] = DrainStep(decision.channel, f"{decision.node}/{epoch}",
                                              time.monotonic())
        elif decision.kind == "unplace":
            assert decision.reason is not None
            if self.store.unplace(decision.channel, decision.cost, decision.reason,
                                  placer=self.node_id) is not None:
                log.warning("channel %s unplaced: %s", decision.channel, decision.reason)
        elif was is not None:
            self.store.restate(decision.channel, Placement(
                was.state, was.node, was.epoch, was.since, decision.cost, decision.reason),
                placer=self.node_id)
