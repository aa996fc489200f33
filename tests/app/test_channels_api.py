"""Channels through the API and a real Celery worker on a real Redis: the /channels registry
(create, read, change, delete, with bad input answered 4xx naming the field) and every
/stream route again under /channels/<id>/stream, holding that channel's state only."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.placements import NOT_PLACED
from core.config import Settings
from core.keys import LAYOUT_VERSION, Keys

NEWS = {"id": "news", "name": "News", "output": {"width": 640, "height": 360, "fps": 25}}
TOKEN = "channels-operator-token"
VIEWER = "channels-viewer-token"


def create(client: FlaskClient, body: dict = NEWS) -> dict:
    response = client.post("/channels", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_channel_is_created_read_changed_and_deleted(client: FlaskClient,
                                                       settings: Settings) -> None:
    response = client.post("/channels", json=NEWS)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"] == "/channels/news"
    assert response.headers["ETag"] == '"1"'
    news = response.get_json()
    assert news["output"] == {"width": 640, "height": 360, "fps": 25,
                              "videoBitrate": settings.video_bitrate}
    assert news["state"] == "stopped" and news["version"] == 1
    # No render node runs in this test: nothing placed it.
    assert news["placement"] == {"state": "unplaced", "node": None, "epoch": 0, "since": None,
                                 "cost": 0.0, "reason": NOT_PLACED}
    assert news["status"] == {"fps": 0.0, "targetFPS": 25, "droppedFrames": 0, "error": None,
                              "outputs": []}

    listed = client.get("/channels").get_json()
    assert [channel["id"] for channel in listed] == ["default", "news"]
    assert listed[0]["output"]["width"] == settings.output_width
    assert listed[1] == news
    assert client.get("/channels/news").get_json() == news

    renamed = client.patch("/channels/news", json={"name": "World news",
                                                   "output": {"fps": None}},
                           headers={"If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["name"] == "World news" and renamed.get_json()["version"] == 2
    assert renamed.get_json()["output"]["fps"] == settings.render_fps  # null: the default
    stale = client.patch("/channels/news", json={"name": "Old"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.get_json()["current"]["name"] == "World news"

    assert client.delete("/channels/news").status_code == 204
    gone = client.get("/channels/news")
    assert gone.status_code == 404 and gone.get_json()["fields"] == {"channel": "unknown channel"}
    assert [channel["id"] for channel in client.get("/channels").get_json()] == ["default"]


def test_bad_channel_input_is_400_naming_the_field(client: FlaskClient) -> None:
    cases = [
        ({"id": "News!", "name": "x"}, "id"),
        ({"id": "a" * 33, "name": "x"}, "id"),
        ({"id": "-news", "name": "x"}, "id"),
        ({"id": "news"}, "name"),
        ({"id": "news", "name": ""}, "name"),
        ({"id": "news", "name": "x", "output": {"width": 641}}, "output.width"),
        ({"id": "news", "name": "x", "output": {"fps": 0}}, "output.fps"),
        ({"id": "news", "name": "x", "output": {"videoBitrate": "fast"}}, "output.videoBitrate"),
        ({"id": "news", "name": "x", "color": "red"}, "color"),
    ]
    for body, field in cases:
        response = client.post("/channels", json=body)
        assert response.status_code == 400, (body, response.get_json())
        assert field in response.get_json()["fields"], (body, response.get_json())
    assert client.post("/channels", data="{", content_type="application/json"
                       ).get_json()["fields"] == {"body": "malformed"}

    create(client)
    taken = client.post("/channels", json={**NEWS, "name": "Other"})
    assert taken.status_code == 409 and "id" in taken.get_json()["fields"]
    same_name = client.post("/channels", json={**NEWS, "id": "news2"})
    assert same_name.status_code == 409 and "name" in same_name.get_json()["fields"]
    empty = client.patch("/channels/news", json={})
    assert empty.status_code == 400 and empty.get_json()["fields"]
    bad_etag = client.patch("/channels/news", json={"name": "y"}, headers={"If-Match": "v1"})
    assert bad_etag.status_code == 400 and "If-Match" in bad_etag.get_json()["fields"]

    for url in ("/channels/News", "/channels/a_b/stream/status", "/channels/-x/stream/layers"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "channel" in response.get_json()["fields"], url
    for method, url in (("get", "/channels/nope"), ("patch", "/channels/nope"),
                        ("delete", "/channels/nope"), ("get", "/channels/nope/stream/status"),
                        ("post", "/channels/nope/stream/start"),
                        ("get", "/channels/nope/stream/layers/abc")):
        response = getattr(client, method)(url, json={"name": "x"} if method == "patch" else None)
        assert response.status_code == 404, (method, url, response.get_json())
        assert response.get_json()["fields"] == {"channel": "unknown channel"}, url


def test_delete_and_output_changes_keep_to_the_rules(client: FlaskClient) -> None:
    default = client.delete("/channels/default")
    assert default.status_code == 409 and "channel" in default.get_json()["fields"]
    create(client)
    assert client.post("/channels/news/stream/start").get_json()["state"] == "live"
    live = client.delete("/channels/news")
    assert live.status_code == 409 and live.get_json()["fields"] == {"state": "live"}
    resized = client.patch("/channels/news", json={"output": {"width": 1280}})
    assert resized.status_code == 409 and "output" in resized.get_json()["fields"]
    # A rename is fine on air; the plain /stream of default never moved.
    assert client.patch("/channels/news", json={"name": "On air"}).status_code == 200
    assert client.get("/stream/status").get_json()["state"] == "stopped"
    assert client.get("/channels").get_json()[1]["state"] == "live"

    assert client.post("/channels/news/stream/stop").status_code == 200
    assert client.delete("/channels/news").status_code == 204


def test_a_layer_made_in_a_channel_is_that_channels_only(client: FlaskClient) -> None:
    create(client)
    made = client.post("/channels/news/stream/layers", json={
        "name": "headline", "type": "text", "content": {"text": "news"}})
    assert made.status_code == 201, made.get_json()
    layer = made.get_json()
    assert made.headers["Location"] == f"/channels/news/stream/layers/{layer['id']}"

    assert client.get("/stream/layers").get_json() == []
    assert client.get("/channels/default/stream/layers").get_json() == []
    assert [each["id"] for each in client.get("/channels/news/stream/layers").get_json()] == \
        [layer["id"]]
    assert client.get(f"/stream/layers/{layer['id']}").status_code == 404
    assert client.get(f"/channels/news/stream/layers/{layer['id']}").status_code == 200

    # Every kind of state follows the channel: chat, history, status.
    assert client.post("/channels/news/stream/chat",
                       json={"author": "a", "message": "hi"}).status_code == 201
    assert client.get("/stream/chat").get_json() == []
    assert len(client.get("/channels/news/stream/history").get_json()["entries"]) == 1
    assert client.get("/stream/history").get_json()["entries"] == []
    status = client.get("/channels/news/stream/status").get_json()
    assert status["targetFPS"] == 25 and status["placement"]["state"] == "unplaced"
    assert client.get("/stream/status").get_json()["targetFPS"] == 30

    # Deleting the channel takes its layers with it: the id starts clean.
    assert client.delete("/channels/news").status_code == 204
    create(client)
    assert client.get("/channels/news/stream/layers").get_json() == []


@pytest.fixture
def slow_app(settings: Settings, redis_client) -> Iterator[Flask]:
    """No worker consumes this prefix's queue: every command stays pending."""
    app = create_app(dataclasses.replace(settings, redis_prefix="smchpending:",
                                         command_timeout=0.1))
    yield app
    app.extensions["stream_manager"].close()


def test_a_pending_command_is_followed_in_its_channel(slow_app: Flask) -> None:
    client = slow_app.test_client()
    response = client.post("/channels/default/stream/pause")
    assert response.status_code == 202
    task = response.get_json()["taskId"]
    assert response.headers["Location"] == f"/channels/default/stream/commands/{task}"
    assert client.get(response.headers["Location"]).status_code == 202
    assert client.post("/stream/pause").headers["Location"].startswith("/stream/commands/")


@pytest.fixture
def locked_app(settings: Settings, redis_client, celery_worker) -> Iterator[Flask]:
    app = create_app(dataclasses.replace(settings, api_token=TOKEN, viewer_token=VIEWER))
    yield app
    app.extensions["stream_manager"].close()


def test_tokens_guard_channels_as_every_route(locked_app: Flask) -> None:
    client = locked_app.test_client()
    operator = {"Authorization": f"Bearer {TOKEN}"}
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    # Without a token, no channel is told apart from another.
    for url in ("/channels", "/channels/nope", "/channels/nope/stream/status",
                "/channels/Bad!/stream/status", "/nodes"):
        assert locked_app.test_client().get(url).status_code == 401, url
    assert client.post("/channels", json=NEWS, headers=viewer).status_code == 403
    assert client.post("/channels", json=NEWS, headers=operator).status_code == 201
    assert client.get("/channels/news", headers=viewer).status_code == 200
    assert client.get("/channels/news/stream/layers", headers=viewer).status_code == 200
    assert client.post("/channels/news/stream/start", headers=viewer).status_code == 403
    assert client.delete("/channels/news", headers=viewer).status_code == 403
    assert client.delete("/channels/news", headers=operator).status_code == 204


def test_a_deployment_from_before_channels_moves_into_default_as_the_app_starts(
        client: FlaskClient, settings: Settings, redis_client) -> None:
    layer = client.post("/stream/layers", json={"type": "text", "content": {"text": "old"}})
    assert layer.status_code == 201
    keys = Keys(settings.redis_prefix)
    # The keys as they were named before channels, and no layout version.
    for key in (keys.layers, keys.history_seq, keys.undo):
        redis_client.rename(key, keys.legacy(key.removeprefix(keys.scope)))
    redis_client.delete(keys.layout, keys.channels)
    app = create_app(settings)
    try:
        moved = app.test_client().get("/stream/layers").get_json()
        assert [each["id"] for each in moved] == [layer.get_json()["id"]]
        assert len(app.test_client().get("/stream/history").get_json()["entries"]) == 1
        assert redis_client.get(keys.layout) == LAYOUT_VERSION
        assert not redis_client.exists(keys.legacy("layers"))
    finally:
        app.extensions["stream_manager"].close()


def test_every_stream_operation_has_its_channel_twin_in_the_document(
        client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    plain = [path for path in paths if path.startswith("/stream")]
    assert len(plain) >= 29
    for path in plain:
        twin = paths[f"/channels/{{channel}}{path}"]
        assert set(twin) == set(paths[path]), path
        for method, operation in twin.items():
            assert operation["tags"] == ["channel"], path
            assert {"400", "404"} <= set(operation["responses"]), (method, path)
            names = [p.get("$ref", "").rsplit("/", 1)[-1] for p in operation["parameters"]]
            assert names[0] == "channel", (method, path)
    for path in ("/channels", "/channels/{channel_id}", "/nodes"):
        assert path in paths
