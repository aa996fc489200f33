"""The preview of one channel among several: `?channel=` picks it, a client hears that
channel's layer changes and stream state only, an unknown or malformed channel is refused
before the upgrade, tickets still open it, and deleting the channel closes its clients.
Real preview process (gunicorn), real API app and Celery worker, real Redis."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websocket
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.preview.session import CLOSE_POLICY_VIOLATION
from core.config import Settings
from core.preview_frames import preview_size
from tests.support.preview import PreviewClient, PreviewServer

TOKEN = "preview-channels-token"
NEWS = {"id": "news", "name": "News", "output": {"width": 640, "height": 360}}


@pytest.fixture
def preview(base_env: dict[str, str], redis_client, tmp_path: Path
            ) -> Iterator[Callable[..., tuple[PreviewServer, list[PreviewClient]]]]:
    """Starts the preview process (with `env` added) and keeps a list for its clients; the
    clients are closed first, so the server's graceful stop has none to wait for."""
    started: list[tuple[PreviewServer, list[PreviewClient]]] = []

    def start(**env: str) -> tuple[PreviewServer, list[PreviewClient]]:
        started.append((PreviewServer({**base_env, **env}, tmp_path).start(), []))
        return started[-1]

    yield start
    for server, clients in started:
        for each in clients:
            each.close()
        server.stop()


@pytest.fixture
def locked_app(settings: Settings, redis_client, celery_worker) -> Iterator[Flask]:
    app = create_app(dataclasses.replace(settings, api_token=TOKEN))
    yield app
    app.extensions["stream_manager"].close()


def refusal(url: str) -> tuple[int, dict]:
    """The HTTP status and JSON body of a refused handshake."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    return refused.value.status_code, json.loads(refused.value.resp_body or b"{}")


def test_a_client_watches_its_channel_only(client: FlaskClient, preview) -> None:
    assert client.post("/channels", json=NEWS).status_code == 201
    server, clients = preview()
    news = PreviewClient(server.url(quality="low", channel="news"))
    default = PreviewClient(server.url(quality="low"))
    clients += [news, default]
    hello = news.wait_for("hello")["payload"]
    assert (hello["width"], hello["height"]) == preview_size("low", 640, 360)
    state = news.wait_for("streamState")["payload"]
    assert state["placement"]["state"] == "unplaced" and state["state"] == "stopped"
    default.wait_for("streamState")

    made = client.post("/channels/news/stream/layers", json={
        "name": "headline", "type": "text", "content": {"text": "news"}})
    assert made.status_code == 201, made.get_json()
    update = news.wait_for("layerUpdate")["payload"]
    assert update["event"] == "layer.created" and update["data"]["id"] == made.get_json()["id"]
    assert client.post("/channels/news/stream/start").status_code == 200
    news.wait_for("streamState", where=lambda m: m["payload"]["state"] == "live")
    assert client.post("/channels/news/stream/stop").status_code == 200
    # The default channel's client heard none of it.
    assert default.messages("layerUpdate") == []
    assert {m["payload"]["state"] for m in default.messages("streamState")} == {"stopped"}
    registered = client.get("/channels/news/stream/preview/clients").get_json()
    assert [entry["quality"] for entry in registered] == ["low"]
    assert len(client.get("/stream/preview/clients").get_json()) == 1

    for query, problem in (({"channel": "nope"}, "unknown channel"),
                           ({"channel": "Bad_Id"}, "must be a slug")):
        status, body = refusal(server.url(**query))
        assert status == 400 and problem in body["fields"]["channel"], body

    # Deleting the channel closes its clients; the default channel's stay.
    assert client.delete("/channels/news").status_code == 204
    code, reason = news.wait_for_close()
    assert code == CLOSE_POLICY_VIOLATION and "deleted" in reason
    assert not default.closed


def test_a_ticket_opens_a_channels_preview(locked_app: Flask, preview) -> None:
    api = locked_app.test_client()
    operator = {"Authorization": f"Bearer {TOKEN}"}
    assert api.post("/channels", json=NEWS, headers=operator).status_code == 201
    server, clients = preview(API_TOKEN=TOKEN)
    # Without a token nothing tells whether a channel exists.
    assert refusal(server.url(channel="nope"))[0] == 401
    ticket = api.post("/preview/ticket", headers=operator).get_json()["ticket"]
    news = PreviewClient(server.url(channel="news", ticket=ticket))
    clients.append(news)
    assert news.wait_for("hello")["payload"]["width"] == preview_size("medium", 640, 360)[0]
    ticket = api.post("/preview/ticket", headers=operator).get_json()["ticket"]
    assert refusal(server.url(channel="nope", ticket=ticket))[0] == 400
