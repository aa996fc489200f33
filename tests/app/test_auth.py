"""API_TOKEN: every endpoint but /health needs the bearer token; VIEWER_TOKEN only reads."""

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from app import create_app
from core.config import Settings

TOKEN = "s3cret-operator-token"


@pytest.fixture
def locked_app(settings: Settings, redis_client, celery_worker) -> Iterator[Flask]:
    app = create_app(replace(settings, api_token=TOKEN))
    yield app
    app.extensions["stream_manager"].close()


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/stream/status"), ("post", "/stream/start"), ("get", "/stream/layers"),
    ("post", "/stream/layers"), ("get", "/media"), ("get", "/stream/chat"),
    ("get", "/stream/preview/clients"), ("get", "/nowhere"),
])
def test_requests_without_the_token_are_401(locked_app: Flask, method: str, url: str) -> None:
    client = locked_app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong-token"},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}):
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_opens_everything_and_health_stays_open(locked_app: Flask) -> None:
    client = locked_app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/stream/status", headers=headers).status_code == 200
    assert client.post("/stream/start", headers=headers).get_json()["isLive"] is True
    assert client.get("/health").status_code == 200


VIEWER = "read-only-viewer-token"


@pytest.fixture
def viewer_app(settings: Settings, redis_client, celery_worker) -> Iterator[Flask]:
    app = create_app(replace(settings, api_token=TOKEN, viewer_token=VIEWER))
    yield app
    app.extensions["stream_manager"].close()


@pytest.mark.parametrize(("method", "url", "body"), [
    ("post", "/stream/start", None), ("post", "/stream/stop", None),
    ("post", "/stream/pause", None), ("post", "/stream/resume", None),
    ("post", "/stream/layers", {"type": "color", "content": {"color": "#000000"}}),
    ("patch", "/stream/layers/{id}", {"opacity": 0.1}), ("delete", "/stream/layers/{id}", None),
    ("post", "/stream/layers/{id}/visibility", {"visible": False}),
    ("post", "/stream/layers/reorder", {"ids": ["{id}"]}),
    ("post", "/stream/chat", {"author": "viewer", "message": "hi"}),
    ("post", "/media", None),
])
def test_the_viewer_token_reads_but_every_change_is_403_and_changes_nothing(
        viewer_app: Flask, store, method: str, url: str, body: dict | None) -> None:
    client = viewer_app.test_client()
    operator = {"Authorization": f"Bearer {TOKEN}"}
    viewer = {"Authorization": f"Bearer {VIEWER}"}
    layer = client.post("/stream/layers", headers=operator, json={
        "type": "color", "content": {"color": "#ff0000"}}).get_json()
    before = (store.layers(), store.stream(), store.chat(50))
    target = url.replace("{id}", layer["id"])
    if body is not None and "ids" in body:
        body = {"ids": [layer["id"]]}
    response = getattr(client, method)(target, headers=viewer, json=body)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert "Authorization" in response.get_json()["fields"]
    assert (store.layers(), store.stream(), store.chat(50)) == before
    for read in ("/stream/status", "/stream/layers", f"/stream/layers/{layer['id']}",
                 "/stream/chat", "/media", "/stream/preview/clients"):
        assert client.get(read, headers=viewer).status_code == 200, read


def test_the_viewer_may_get_a_preview_ticket(viewer_app: Flask) -> None:
    response = viewer_app.test_client().post(
        "/preview/ticket", headers={"Authorization": f"Bearer {VIEWER}"})
    assert response.status_code == 201 and response.get_json()["ticket"]


def test_a_viewer_token_without_an_api_token_is_a_configuration_error() -> None:
    from core.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="VIEWER_TOKEN"):
        load_settings({"VIEWER_TOKEN": VIEWER})
