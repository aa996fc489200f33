"""Video and input layers through the API (real Celery worker and Redis): their content rules,
the playback anchor, and input URLs that never show their secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.keys import Keys
from core.layers.playback import Playback
from tests.support.clips import write_clip

SECRET_URL = "rtmp://camera:s3cret@ingest.example:1935/live/streamKEY42?token=abc"
MASKED_URL = "rtmp://camera:***@ingest.example:1935/live/***?token=***"


@pytest.fixture
def clip(settings) -> str:
    settings.media_root.mkdir(parents=True, exist_ok=True)
    write_clip(settings.media_root / "clip.mp4", fps=25, seconds=1)
    return "clip.mp4"


def create(client: FlaskClient, **layer: Any) -> dict[str, Any]:
    response = client.post("/stream/layers", json=layer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored(redis_client, settings, layer_id: str) -> dict[str, Any]:
    raw = redis_client.hget(Keys(settings.redis_prefix).layers, layer_id)
    return json.loads(raw)


def test_a_video_layer_gets_defaults_and_plays_from_its_creation(client: FlaskClient,
                                                                  clip: str) -> None:
    layer = create(client, type="video", content={"source": clip})
    assert layer["content"] == {"source": clip, "loop": True, "volume": 1.0, "muted": False}
    assert layer["playback"]["state"] == "playing"
    assert layer["playback"]["position"] == 0.0
    read = client.get(f"/stream/layers/{layer['id']}").get_json()
    assert read["playback"]["state"] == "playing"
    assert read["playback"]["position"] >= 0.0
    assert read["playback"]["duration"] is None  # no render worker has opened it


@pytest.mark.parametrize(("content", "field"), [
    ({"source": "logo.png"}, "content.source"),            # an image is not a video
    ({"source": "missing.mp4"}, "content.source"),         # not in the library
    ({"source": "clip.mp4", "volume": 10}, "content.volume"),
    ({"source": "clip.mp4", "loop": "yes"}, "content.loop"),
])
def test_bad_video_content_is_a_400_naming_the_field(client: FlaskClient, clip: str,
                                                     content: dict[str, Any],
                                                     field: str) -> None:
    response = client.post("/stream/layers", json={"type": "video", "content": content})
    assert response.status_code == 400
    assert field in response.get_json()["fields"], response.get_json()


def test_playback_moves_the_anchor(client: FlaskClient, clip: str) -> None:
    layer = create(client, type="video", content={"source": clip, "loop": False})
    url = f"/stream/layers/{layer['id']}/playback"
    paused = client.post(url, json={"action": "pause"})
    assert paused.status_code == 200
    assert paused.get_json()["playback"]["state"] == "paused"
    assert paused.get_json()["version"] == layer["version"] + 1
    sought = client.post(url, json={"action": "seek", "position": 0.5})
    answer = sought.get_json()["playback"]
    assert answer == {"state": "paused", "position": 0.5, "since": answer["since"],
                      "duration": None}
    read = client.get(f"/stream/layers/{layer['id']}").get_json()["playback"]
    assert (read["state"], read["position"]) == ("paused", 0.5)
    restarted = client.post(url, json={"action": "restart"}).get_json()["playback"]
    assert restarted["state"] == "playing" and restarted["position"] < 0.5
    stale = client.post(url, json={"action": "pause"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "rewind"}, "action"),
    ({"action": "seek"}, "position"),
    ({"action": "seek", "position": -1}, "position"),
    ({"action": "seek", "position": "1"}, "position"),
    ({}, "action"),
])
def test_bad_playback_actions_are_400s(client: FlaskClient, clip: str, body: dict[str, Any],
                                       field: str) -> None:
    layer = create(client, type="video", content={"source": clip})
    response = client.post(f"/stream/layers/{layer['id']}/playback", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def test_only_videos_play(client: FlaskClient, color_layer: dict) -> None:
    response = client.post(f"/stream/layers/{color_layer['id']}/playback",
                           json={"action": "pause"})
    assert response.status_code == 409
    assert "type" in response.get_json()["fields"]
    assert client.post("/stream/layers/nope/playback",
                       json={"action": "pause"}).status_code == 404


def test_an_input_url_is_masked_everywhere_but_the_store(client: FlaskClient, redis_client,
                                                         settings) -> None:
    layer = create(client, type="input", content={"url": SECRET_URL})
    assert layer["content"]["url"] == MASKED_URL
    assert layer["content"]["fallback"] == "last" and layer["content"]["lostAfterMs"] == 1000
    read = client.get(f"/stream/layers/{layer['id']}").get_json()
    assert read["content"]["url"] == MASKED_URL
    assert read["input"]["state"] == "connecting"
    listed = client.get("/stream/layers").get_data(as_text=True)
    assert "s3cret" not in listed and "streamKEY42" not in listed
    assert stored(redis_client, settings, layer["id"])["content"]["url"] == SECRET_URL
    events = redis_client.xrange(Keys(settings.redis_prefix).events)
    assert not any("s3cret" in value or "streamKEY42" in value
                   for _, entry in events for value in entry.values())

    # A form that sends back what it was shown keeps the real URL.
    echoed = client.patch(f"/stream/layers/{layer['id']}",
                          json={"content": {"url": MASKED_URL, "lostAfterMs": 2000}})
    assert echoed.status_code == 200, echoed.get_json()
    assert stored(redis_client, settings, layer["id"])["content"]["url"] == SECRET_URL
    changed = client.patch(f"/stream/layers/{layer['id']}",
                           json={"content": {"url": "rtsp://camera.example/stream1"}})
    assert changed.get_json()["content"]["url"] == "rtsp://camera.example/stream1"


@pytest.mark.parametrize(("content", "field"), [
    ({"url": "srt://ingest.example:9000"}, "content.url"),
    ({"url": "file:///etc/passwd"}, "content.url"),
    ({"url": "rtmp:///live/x"}, "content.url"),
    ({"url": "rtmp://host:99999/live/x"}, "content.url"),
    ({"url": "rtmp://host/live/x y"}, "content.url"),
    ({"url": "rtmp://host/" + "x" * 3000}, "content.url"),
    ({"url": "rtmp://host/live/x", "fallback": "slate"}, "content.slate"),
    ({"url": "rtmp://host/live/x", "fallback": "blank"}, "content.fallback"),
    ({"url": "rtmp://host/live/x", "lostAfterMs": 10}, "content.lostAfterMs"),
    ({"url": "rtmp://host/live/x", "fallback": "slate", "slate": "clip.mp4"}, "content.slate"),
])
def test_bad_input_content_is_a_400_naming_the_field(client: FlaskClient, content: dict,
                                                     field: str) -> None:
    response = client.post("/stream/layers", json={"type": "input", "content": content})
    assert response.status_code == 400
    assert field in response.get_json()["fields"], response.get_json()


def test_a_playback_anchor_extends_in_real_time() -> None:
    anchor = Playback("playing", 2.0, 1_000)
    assert anchor.position_at(3_500) == 4.5
    paused = anchor.after("pause", 3_500)
    assert (paused.state, paused.position_at(9_000)) == ("paused", 4.5)
    assert paused.after("play", 10_000).position_at(11_000) == 5.5
    assert anchor.after("seek", 4_000, 7.0).position_at(5_000) == 8.0
