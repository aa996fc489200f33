"""Redis (state and broker) going away: 503 within two seconds, and recovery by itself."""

import time

from flask.testing import FlaskClient

from tests.support.processes import wait_until
from tests.support.redis_server import RedisServer

REQUESTS = [
    ("get", "/stream/status", None),
    ("get", "/stream/layers", None),
    ("post", "/stream/layers", {"type": "color", "content": {"color": "#ff0000"}}),
    ("post", "/stream/start", None),
    ("post", "/stream/chat", {"author": "a", "message": "b"}),
    ("get", "/health", None),
]


def test_503_while_redis_is_down_then_recovery(client: FlaskClient, redis_server: RedisServer,
                                               color_layer: dict) -> None:
    redis_server.stop()
    try:
        for method, url, body in REQUESTS:
            started = time.monotonic()
            response = getattr(client, method)(url, json=body)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, (url, response.get_json())
            assert elapsed < 2.0, (url, elapsed)
            payload = response.get_json()
            assert payload["error"] == "unavailable"
    finally:
        redis_server.start()

    # The API and the worker reconnect by themselves; the layer survived (AOF).
    def recovered() -> bool:
        return client.get("/stream/status").status_code == 200

    wait_until(recovered, 20, "API answering again")
    layer = client.get(f"/stream/layers/{color_layer['id']}").get_json()
    assert layer == {**color_layer, "error": None}

    def worker_back() -> bool:
        response = client.patch(f"/stream/layers/{color_layer['id']}", json={"name": "back"})
        return response.status_code == 200

    wait_until(worker_back, 60, "worker applying commands again", interval=0.5)
    assert client.get(f"/stream/layers/{color_layer['id']}").get_json()["name"] == "back"


def test_503_when_redis_is_killed(client: FlaskClient, redis_server: RedisServer) -> None:
    redis_server.kill()
    try:
        started = time.monotonic()
        response = client.post("/stream/layers", json={"type": "color",
                                                       "content": {"color": "#ff0000"}})
        assert response.status_code == 503 and time.monotonic() - started < 2.0
    finally:
        redis_server.start()
    wait_until(lambda: client.get("/health").status_code == 200, 20, "health back")


def test_a_key_of_the_wrong_type_is_503_not_500(client: FlaskClient, store) -> None:
    """A key someone overwrote by hand (WRONGTYPE) is the operator's to fix: reads and
    changes that touch it answer 503 with Retry-After, and the rest of the API still works."""
    store.redis.set(store.keys.layers, "not a hash")
    for response in (client.get("/stream/layers"),
                     client.post("/stream/layers", json={"type": "color",
                                                         "content": {"color": "#000000"}})):
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"] == "unavailable"
        assert response.headers["Retry-After"]
    assert client.get("/stream/status").status_code == 200
    store.redis.delete(store.keys.layers)
    assert client.get("/stream/layers").get_json() == []
