"""Render nodes and placements as the API shows them: GET /nodes, /health's `nodes` and
`unplaced`, a channel's `placement` in its stream status and its read. The node records and
placements are written into the real Redis here the way render nodes and the placer write
them (core.store.placement), so what is checked is what the endpoints answer."""

from __future__ import annotations

import json

import redis
from flask.testing import FlaskClient

from core.config import Settings
from core.keys import Keys
from core.store.placement import PlacementStore

PLACER = "test-placer"


def placement_store(settings: Settings, client: redis.Redis) -> PlacementStore:
    store = PlacementStore(client, Keys(settings.redis_prefix))
    client.set(store.keys.placer_lock, PLACER)  # as the node holding the placer lock
    return store


def node(node_id: str, channels: list[str], *, capacity: float = 2.0, load: float = 1.0,
         draining: bool = False) -> dict:
    return {"id": node_id, "host": "machine-1", "pid": 4242, "capacity": capacity,
            "load": load, "channels": channels, "costs": {c: load for c in channels},
            "draining": draining, "metricsPort": 9200}


def test_nodes_are_listed_with_their_state(client: FlaskClient, settings: Settings,
                                           redis_client: redis.Redis) -> None:
    assert client.get("/nodes").get_json() == {"nodes": []}
    store = placement_store(settings, redis_client)
    store.write_node(node("node-a", ["default"]))
    store.write_node(node("node-b", [], draining=True, load=0.0))
    # A node silent for 5 s: lost (the placer forgets it after a minute).
    at = int(redis_client.time()[0]) * 1000 - 5000
    redis_client.hset(store.keys.nodes, "node-c", json.dumps({**node("node-c", []), "at": at}))
    redis_client.hset(store.keys.nodes, "junk", "not json")

    nodes = client.get("/nodes").get_json()["nodes"]
    assert [entry["id"] for entry in nodes] == ["node-a", "node-b", "node-c"]
    first = nodes[0]
    assert set(first) == {"id", "host", "capacity", "load", "channels", "heartbeatAge",
                          "draining", "state"}
    assert first["channels"] == ["default"] and first["capacity"] == 2.0
    assert first["load"] == 1.0 and first["host"] == "machine-1"
    assert 0 <= first["heartbeatAge"] < 1 and first["state"] == "up"
    assert nodes[1]["state"] == "draining" and nodes[1]["draining"] is True
    assert nodes[2]["state"] == "lost" and nodes[2]["heartbeatAge"] >= 5
    in_health = client.get("/health").get_json()["nodes"]
    assert [{**entry, "heartbeatAge": 0} for entry in in_health] == \
        [{**entry, "heartbeatAge": 0} for entry in nodes]


def test_placement_shows_in_status_channels_and_health(client: FlaskClient, settings: Settings,
                                                       redis_client: redis.Redis) -> None:
    assert client.post("/channels", json={"id": "news", "name": "News"}).status_code == 201
    health = client.get("/health").get_json()
    assert [entry["channel"] for entry in health["unplaced"]] == ["default", "news"]

    store = placement_store(settings, redis_client)
    store.write_node(node("node-a", ["default"]))
    epoch = store.assign("default", "node-a", 1.0, placer=PLACER, takeover=False)
    assert epoch is not None
    reason = "needs 1.00 units, the most free on any node is 0.50"
    store.unplace("news", 1.0, reason, placer=PLACER)

    placed = client.get("/stream/status").get_json()["placement"]
    assert placed["state"] == "placed" and placed["node"] == "node-a"
    assert placed["epoch"] == epoch and placed["cost"] == 1.0 and placed["reason"] is None
    assert isinstance(placed["since"], int)
    unplaced = client.get("/channels/news/stream/status").get_json()["placement"]
    assert unplaced["state"] == "unplaced" and unplaced["node"] is None
    assert unplaced["reason"] == reason
    listed = {entry["id"]: entry["placement"] for entry in client.get("/channels").get_json()}
    assert listed == {"default": placed, "news": unplaced}

    health = client.get("/health")
    assert health.status_code == 200
    assert health.get_json()["unplaced"] == [{"channel": "news", "reason": reason}]
    # A stopped channel off every node is listed; a live one makes the deployment degraded.
    assert client.post("/channels/news/stream/start").status_code == 200
    body = client.get("/health").get_json()
    assert body["status"] == "degraded" and body["unplaced"][0]["channel"] == "news"
    assert client.post("/channels/news/stream/stop").status_code == 200
