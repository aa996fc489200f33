"""The state store against a real Redis: defaults, caps, and corrupt data quarantined."""

import json

import pytest
from flask.testing import FlaskClient

from core.layers import load_new_layer
from core.store import StateStore
from tests.support.processes import wait_until


def quarantined(store: StateStore) -> list[dict]:
    return [json.loads(raw) for raw in store.redis.lrange(store.keys.quarantine, 0, -1)]


def test_defaults_are_written_when_there_is_no_state(store: StateStore) -> None:
    assert store.redis.hget(store.keys.stream, "desired") is None
    record = store.stream()
    assert record["state"] == "stopped" and record["version"] == 1
    assert json.loads(store.redis.hget(store.keys.stream, "desired")) == record


@pytest.mark.parametrize("raw", ["{not json", "[]", '{"state": "exploded", "version": 1}',
                                 '{"state": "live"}', "null"])
def test_a_corrupt_stream_record_is_quarantined_and_replaced(store: StateStore, raw: str,
                                                             caplog) -> None:
    store.redis.hset(store.keys.stream, "desired", raw)
    assert store.stream()["state"] == "stopped"
    assert quarantined(store)[0]["raw"] == raw
    assert "quarantined" in caplog.text
    assert store.set_stream_state("c1", "start").body["state"] == "live"


def test_a_corrupt_layer_is_quarantined_and_the_rest_survive(store: StateStore) -> None:
    good = store.create_layer("c1", load_new_layer(
        {"type": "color", "content": {"color": "#00ff00"}})).body
    store.redis.hset(store.keys.layers, "broken", '{"type": "color"')
    store.redis.hset(store.keys.layers, "wrong", json.dumps({**good, "opacity": 7}))
    assert [layer.id for layer in store.layers()] == [good["id"]]
    assert {entry["field"] for entry in quarantined(store)} == {"broken", "wrong"}
    assert set(store.redis.hkeys(store.keys.layers)) == {good["id"]}


def test_corrupt_telemetry_and_chat_do_not_break_reads(store: StateStore) -> None:
    store.redis.hset(store.keys.stream, "status", '{"fps": "fast"}')
    store.post_chat("c1", "ann", "first")
    store.redis.lpush(store.keys.chat, "\x00garbage")
    store.post_chat("c2", "bob", "second")
    assert store.status(30)["fps"] == 0.0
    assert [message["message"] for message in store.chat(10)] == ["first", "second"]
    assert len(quarantined(store)) == 2


def test_corrupt_state_is_survived_through_the_api(client: FlaskClient,
                                                   store: StateStore) -> None:
    store.redis.hset(store.keys.stream, "desired", "\xff\xfe")
    store.redis.hset(store.keys.layers, "junk", "42")
    assert client.get("/stream/status").status_code == 200
    assert client.get("/stream/layers").get_json() == []
    assert client.post("/stream/start").get_json()["isLive"] is True


def test_chat_history_is_capped(store: StateStore) -> None:
    for n in range(store.chat_history + 5):
        store.post_chat(f"c{n}", "ann", f"message {n}")
    messages = store.chat(1000)
    assert len(messages) == store.chat_history
    assert messages[-1]["message"] == f"message {store.chat_history + 4}"


def test_the_event_stream_is_capped(settings, redis_client) -> None:
    small = StateStore(redis_client, StateStore.from_settings(settings, redis_client).keys,
                       max_layers=10, chat_history=10, events_maxlen=100)
    for n in range(500):
        small.post_chat(f"c{n}", "ann", "x")
    assert redis_client.xlen(small.keys.events) < 250


def test_preview_clients_register_refresh_and_expire(store: StateStore) -> None:
    store.live.register_preview_clients({"client-a": ("medium", 1000)}, ttl_ms=60_000)
    store.live.register_preview_clients({"client-b": ("low", 1000)}, ttl_ms=1)
    wait_until(lambda: [c["id"] for c in store.live.preview_clients()] == ["client-a"], 2,
               "client-b to expire")
    client = store.live.preview_clients()[0]
    assert client["quality"] == "medium" and client["connected"] is True
    assert client["lastPing"] == 1000
    # A refresh of several at once in one write.
    store.live.register_preview_clients({"client-a": ("low", 2000), "client-c": ("high", 2000)},
                                        ttl_ms=60_000)
    assert {(c["id"], c["quality"], c["lastPing"]) for c in store.live.preview_clients()} == {
        ("client-a", "low", 2000), ("client-c", "high", 2000)}
    store.live.forget_preview_client("client-c")
    store.live.forget_preview_client("client-a")
    assert store.live.preview_clients() == []


def test_preview_tickets_work_once(store: StateStore) -> None:
    ticket = store.live.issue_ticket(ttl_seconds=30)
    assert len(ticket) >= 32
    assert store.live.redeem_ticket(ticket) is True
    assert store.live.redeem_ticket(ticket) is False
    assert store.live.redeem_ticket("made-up") is False
