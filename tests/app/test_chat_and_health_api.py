"""Chat, preview clients and /health through the API."""

import json

from flask.testing import FlaskClient

from core.store import StateStore, now_ms
from tests.support.processes import Process, wait_until


def test_chat_posts_and_lists_oldest_first(client: FlaskClient) -> None:
    for n in range(3):
        response = client.post("/stream/chat", json={"author": "ann", "message": f"m{n}"})
        assert response.status_code == 201
        posted = response.get_json()
        assert posted["author"] == "ann" and posted["id"] and posted["createdAt"] > 0
    assert [m["message"] for m in client.get("/stream/chat").get_json()] == ["m0", "m1", "m2"]
    assert [m["message"] for m in client.get("/stream/chat?limit=2").get_json()] == ["m1", "m2"]


def test_preview_clients_lists_live_registrations(client: FlaskClient, store: StateStore) -> None:
    assert client.get("/stream/preview/clients").get_json() == []
    now = now_ms()
    for client_id, expires in (("live", now + 30_000), ("gone", now - 1)):
        store.redis.hset(store.keys.preview_clients, client_id, json.dumps({
            "id": client_id, "quality": "medium", "lastPing": now, "connected": True,
            "expiresAt": expires}))
    listed = client.get("/stream/preview/clients").get_json()
    assert [entry["id"] for entry in listed] == ["live"]


def test_health_reports_redis_broker_and_worker(client: FlaskClient, store: StateStore,
                                                celery_worker: Process, app) -> None:
    store.redis.delete(store.keys.worker_heartbeat)
    # What beat sends every few seconds, sent now: the real worker must pick it up.
    app.extensions["stream_manager"].celery.send_task("health.chat")
    wait_until(lambda: client.get("/health").get_json()["checks"]["worker"]["ok"], 15,
               "heartbeat")
    body = client.get("/health").get_json()
    assert body["checks"]["redis"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["broker"]["queueDepth"] >= 0
    assert body["checks"]["worker"]["lastSeenSecondsAgo"] < 15


def test_health_reports_the_active_render_instance_and_standbys(client: FlaskClient,
                                                                store: StateStore) -> None:
    store.redis.delete(store.keys.render_heartbeat)
    assert client.get("/health").get_json()["checks"]["render"] == {
        "ok": False, "active": None, "standby": 0, "lastSeenSecondsAgo": None}
    store.live.beat("render-a", "active", 11, "host")
    store.live.beat("render-b", "standby", 12, "host")
    body = client.get("/health").get_json()
    assert body["checks"]["render"]["ok"] is True
    assert body["checks"]["render"]["active"] == "render-a"
    assert body["checks"]["render"]["standby"] == 1
    # A heartbeat older than a minute is an instance that died: forgotten.
    store.redis.hset(store.keys.render_heartbeat, "render-a", json.dumps(
        {"id": "render-a", "role": "active", "pid": 11, "host": "host",
         "at": now_ms() - 120_000}))
    body = client.get("/health").get_json()
    assert body["checks"]["render"]["ok"] is False and body["status"] == "degraded"
    assert store.redis.hexists(store.keys.render_heartbeat, "render-a") is False


def test_health_is_degraded_without_a_worker_heartbeat(client: FlaskClient,
                                                       store: StateStore) -> None:
    store.redis.delete(store.keys.worker_heartbeat)
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"]["worker"]["ok"] is False
