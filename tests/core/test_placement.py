"""Node records, placements and channel leases against a real Redis."""

from __future__ import annotations

import json
import time

import redis

from core.config import Settings
from core.keys import Keys
from core.store.placement import (
    LEASE_TTL,
    ChannelLease,
    NodeRecord,
    Placement,
    PlacementStore,
)
from tests.support.processes import wait_until

PLACER = "node-a"


def make(redis_client: redis.Redis, settings: Settings, *channels: str) -> PlacementStore:
    """The placement store, with `channels` registered and node-a holding the placer lock."""
    keys = Keys(settings.redis_prefix)
    for channel in channels:
        redis_client.hset(keys.channels, channel, json.dumps({"id": channel}))
    redis_client.set(keys.placer_lock, PLACER, px=5000)
    return PlacementStore(redis_client, keys)


def record(node_id: str, **fields: object) -> dict:
    """A node record as a node writes it (without `at`)."""
    return {"id": node_id, "host": "h", "pid": 1, "capacity": 2.0, "load": 0.0, "channels": [],
            "costs": {}, "draining": False, "metricsPort": 9091, **fields}


def test_node_records_carry_redis_time_and_read_as_up_draining_or_lost(
        redis_client: redis.Redis, settings: Settings) -> None:
    store = make(redis_client, settings)
    at = store.write_node(record("a", channels=["news"], costs={"news": 1.0}, load=1.0))
    store.write_node(record("b", draining=True))
    (seconds, micros) = redis_client.time()
    assert abs(at - (seconds * 1000 + micros // 1000)) < 1000
    # A record last written 5 s ago (by Redis' clock) is lost.
    old = {**record("c"), "at": at - 5000}
    redis_client.hset(store.keys.nodes, "c", json.dumps(old))
    redis_client.hset(store.keys.nodes, "junk", "{not json")
    nodes = {node.id: node for node in store.nodes()}
    assert sorted(nodes) == ["a", "b", "c"]
    assert nodes["a"].state == "up" and nodes["a"].channels == ("news",)
    assert nodes["b"].state == "draining" and nodes["c"].state == "lost"
    assert 4.9 <= nodes["c"].age <= 6.0
    assert nodes["a"].view() == {
        "id": "a", "host": "h", "capacity": 2.0, "load": 1.0, "channels": ["news"],
        "heartbeatAge": nodes["a"].view()["heartbeatAge"], "draining": False, "state": "up"}
    assert 0 <= nodes["a"].view()["heartbeatAge"] < 1
    store.remove_node("a")
    assert [node.id for node in store.nodes()] == ["b", "c"]


def test_assign_increments_the_epoch_and_only_the_placer_writes(
        redis_client: redis.Redis, settings: Settings) -> None:
    store = make(redis_client, settings, "news", "sport")
    assert store.assign("news", "a", 1.5, placer=PLACER, takeover=False) == 1
    placed = store.placement("news")
    assert placed is not None and placed.placed and placed.node == "a" and placed.cost == 1.5
    assert placed.token == "a/1" and placed.reason is None
    assert store.assign("news", "b", 1.5, placer=PLACER, takeover=False) == 2
    # Another node that thinks it is the placer (its lock expired) changes nothing.
    assert store.assign("news", "c", 1.5, placer="node-z", takeover=True) is None
    assert store.placement("news").node == "b"
    assert store.unplace("sport", 2.0, "needs 2.00 units", placer=PLACER) == 1
    unplaced = store.placement("sport")
    assert unplaced == Placement("unplaced", None, 1, unplaced.since, 2.0, "needs 2.00 units")
    # A cost change keeps the epoch and since.
    news = store.placement("news")
    assert store.restate("news", Placement("placed", "b", 2, news.since, 0.5),
                         placer=PLACER) == 2
    assert store.placement("news") == Placement("placed", "b", 2, news.since, 0.5)
    # A channel deleted meanwhile gets no placement (and loses a stale one).
    redis_client.hdel(store.keys.channels, "news")
    assert store.assign("news", "a", 1.0, placer=PLACER, takeover=False) is None
    assert sorted(store.placements()) == ["sport"]


def test_channel_lease_follows_the_placement_and_fences_by_epoch(
        redis_client: redis.Redis, settings: Settings) -> None:
    store = make(redis_client, settings, "news")
    keys = store.keys.for_channel("news")
    lease_a = ChannelLease(redis_client, keys, "a")
    lease_b = ChannelLease(redis_client, keys, "b")
    assert lease_a.tick() is None  # not placed yet
    store.assign("news", "a", 1.0, placer=PLACER, takeover=False)
    before = time.monotonic()
    deadline = lease_a.tick()
    assert deadline is not None and before <= deadline - LEASE_TTL <= time.monotonic()
    assert lease_a.holder() == "a/1" and lease_b.tick() is None
    assert 1500 < redis_client.pttl(keys.render_lease) <= 2000
    # A drain: the placement moves, but b waits until a lets go.
    store.assign("news", "b", 1.0, placer=PLACER, takeover=False)
    assert lease_a.tick() is None and lease_b.tick() is None
    lease_a.release()
    assert lease_b.tick() is not None and lease_b.holder() == "b/2"
    # A takeover (b dead): a waits for b's lease to expire (b may publish until then); b can
    # then neither renew nor release a's.
    store.assign("news", "a", 1.0, placer=PLACER, takeover=True)
    assert lease_a.holder() == "b/2" and lease_a.tick() is None
    redis_client.pexpire(keys.render_lease, 1)  # as if 2 s passed
    wait_until(lambda: lease_a.tick() is not None, 2, "a taking the expired lease")
    assert lease_b.tick() is None
    lease_b.release()
    assert lease_a.holder() == "a/3" and lease_a.tick() is not None
    # A takeover of a channel whose lease is gone writes it for the new node at once.
    redis_client.delete(keys.render_lease)
    store.assign("news", "b", 1.0, placer=PLACER, takeover=True)
    assert lease_a.holder() == "b/4"


def test_parsers_refuse_what_is_not_a_record() -> None:
    assert NodeRecord.parse('{"id": "a"}', 0) is None
    assert NodeRecord.parse("[]", 0) is None
    assert Placement.parse('{"state": "lost", "epoch": 1, "since": 1, "cost": 1}') is None
    assert Placement.parse("nope") is None
