"""API_TOKEN: every endpoint but /health needs the bearer token."""

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
