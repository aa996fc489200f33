"""The whole path, for real: API → Celery → Redis → `python -m render` → nginx-rtmp → a player.

Layers are set through the API (real Celery worker), the render worker composites and streams
them to a real nginx-rtmp, and a PyAV player pulls the stream back: codecs, size, fps, GOP,
pixel colours, how fast a change shows, pause/resume/stop, and a broken image.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import redis
from flask.testing import FlaskClient
from PIL import Image

from core.keys import Keys
from core.preview_frames import read_stamp
from core.schemas.preview import QUALITIES
from tests.support.player import Player
from tests.support.processes import holds_for, wait_until

SIZE = {"OUTPUT_WIDTH": "640", "OUTPUT_HEIGHT": "360", "RENDER_FPS": "30", "RECORD": "off"}
KEY = "secretkey123"
# H.264 4:2:0 at a modest bitrate: flat colours come back within a few levels, edges blur.
TOLERANCE = 24


def add_layer(client: FlaskClient, **layer: Any) -> dict[str, Any]:
    response = client.post("/stream/layers", json=layer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def box(name: str, color: str, x: int, y: int, z: int, size: int = 100,
        **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "color", "zIndex": z, "content": {"color": color},
            "transform": {"x": x, "y": y, "width": size, "height": size}, **extra}


def close_to(actual: tuple[int, int, int], expected: tuple[int, int, int],
             tolerance: int = TOLERANCE) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def wait_for_pixel(player: Player, x: int, y: int, bgr: tuple[int, int, int],
                   timeout: float) -> float:
    """Seconds until the newest decoded frame shows `bgr` at (x, y)."""
    started = time.monotonic()
    wait_until(lambda: close_to(player.pixel(x, y), bgr), timeout,
               f"BGR {bgr} at ({x}, {y}); last seen {_last_pixel(player, x, y)}", interval=0.01)
    return time.monotonic() - started


def _last_pixel(player: Player, x: int, y: int) -> object:
    try:
        return player.pixel(x, y)
    except LookupError:
        return "no frame"


@pytest.fixture
def live_stream(client: FlaskClient, render_workers, nginx_rtmp, player: Callable[..., Player]
                ) -> tuple[Player, dict[str, dict[str, Any]]]:
    """A scene of boxes on white, live on nginx-rtmp, and a player pulling it."""
    layers = {
        "white": add_layer(client, **box("white", "#ffffff", 0, 0, 0, size=640)),
        "red": add_layer(client, **box("red", "#ff0000", 20, 20, 1)),
        "green": add_layer(client, **box("green", "#00ff00", 70, 20, 2)),
        "shade": add_layer(client, **box("shade", "#000000", 300, 200, 3, opacity=0.5)),
        "tint": add_layer(client, **box("tint", "#0000ff80", 450, 200, 4)),
    }
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY))
    viewer.wait_for_frames(5, timeout=30)
    return viewer, layers


def test_stream_has_h264_aac_at_the_configured_size_fps_and_gop(live_stream) -> None:
    viewer, _ = live_stream
    assert viewer.info is not None
    assert (viewer.info.video_codec, viewer.info.width, viewer.info.height) == ("h264", 640, 360)
    assert viewer.info.fps == pytest.approx(30, abs=0.5)
    assert (viewer.info.audio_codec, viewer.info.audio_rate, viewer.info.audio_channels) == (
        "aac", 48000, 2)
    frames = viewer.wait_for_frames(30 * 5, timeout=20)
    keyframes = [frame.pts for frame in frames if frame.keyframe]
    assert len(keyframes) >= 2
    gaps = {round(later - earlier, 2) for earlier, later in zip(keyframes, keyframes[1:],
                                                                strict=False)}
    assert gaps == {2.0}
    assert viewer.audio_frames > 0


def test_layers_show_with_their_colours_order_and_opacity(live_stream) -> None:
    viewer, _ = live_stream
    wait_for_pixel(viewer, 600, 340, (255, 255, 255), 5)         # the white background
    assert close_to(viewer.pixel(40, 60), (0, 0, 255))            # red alone
    assert close_to(viewer.pixel(100, 60), (0, 255, 0))           # green over red: on top
    assert close_to(viewer.pixel(150, 60), (0, 255, 0))           # green alone
    assert close_to(viewer.pixel(350, 250), (128, 128, 128))      # black at 0.5 over white
    assert close_to(viewer.pixel(500, 250), (255, 128, 128))      # #0000ff80 over white


def test_a_change_through_the_api_shows_within_a_second(client: FlaskClient,
                                                        live_stream) -> None:
    viewer, layers = live_stream
    wait_for_pixel(viewer, 40, 60, (0, 0, 255), 5)
    url = f"/stream/layers/{layers['red']['id']}"
    started = time.monotonic()
    assert client.patch(url, json={"content": {"color": "#0000ff"}}).status_code == 200
    wait_for_pixel(viewer, 40, 60, (255, 0, 0), 1.0)
    assert time.monotonic() - started <= 1.0
    # Hidden, it goes: the white background shows where green was.
    hidden = client.post(f"/stream/layers/{layers['green']['id']}/visibility",
                         json={"visible": False})
    assert hidden.status_code == 200
    wait_for_pixel(viewer, 150, 60, (255, 255, 255), 1.0)
    # Moved on top of the stack, red (now blue) covers the overlap.
    assert client.patch(url, json={"zIndex": 9}).status_code == 200
    assert client.post(f"/stream/layers/{layers['green']['id']}/visibility",
                       json={"visible": True}).status_code == 200
    wait_for_pixel(viewer, 150, 60, (0, 255, 0), 1.0)
    assert close_to(viewer.pixel(100, 60), (255, 0, 0))


def test_status_reports_the_live_stream_without_the_stream_key(client: FlaskClient,
                                                               live_stream, nginx_rtmp) -> None:
    def reported() -> dict[str, Any] | None:
        status = client.get("/stream/status").get_json()
        live = status["outputs"] and status["outputs"][0]["state"] == "live"
        return status if live and status["fps"] > 25 else None

    status = wait_until(reported, 10, "live telemetry")
    assert status["isLive"] is True and status["isPaused"] is False
    # Outputs are resources now (issue 13): each also has its id, bitrate and since.
    assert [{key: output[key] for key in ("name", "state", "error")}
            for output in status["outputs"]] == [
        {"name": f"rtmp://127.0.0.1:{nginx_rtmp.port}/live", "state": "live", "error": None}]
    assert status["error"] is None and status["averageRenderTime"] > 0
    first = status["frameCount"]
    wait_until(lambda: client.get("/stream/status").get_json()["frameCount"] >= first + 30,
               5, "frames being counted")
    assert KEY not in json.dumps(client.get("/stream/status").get_json())
    assert KEY not in json.dumps(client.get("/health").get_json())


def test_pause_keeps_the_connection_resume_continues_and_stop_ends(
        client: FlaskClient, live_stream) -> None:
    viewer, layers = live_stream
    opens = viewer.opens
    assert client.post("/stream/pause").status_code == 200
    url = f"/stream/layers/{layers['red']['id']}"
    assert client.patch(url, json={"content": {"color": "#000000"}}).status_code == 200
    # Paused: frames keep coming on the same connection, frozen on the last picture.
    viewer.wait_for_frames(45, timeout=5, since=time.monotonic())
    assert close_to(viewer.pixel(40, 60), (0, 0, 255)) and viewer.opens == opens
    assert client.post("/stream/resume").status_code == 200
    wait_for_pixel(viewer, 40, 60, (0, 0, 0), 2)
    assert viewer.opens == opens
    assert client.post("/stream/stop").status_code == 200
    # Closed outputs stay listed, as stopped (issue 12: a stop is confirmed, not emptied).
    wait_until(lambda: _output_states(client) == {"stopped"}, 15, "the outputs to close")
    stopped_at = time.monotonic() + 1
    # A stopped stream must stay silent: watch a stretch of time.
    holds_for(lambda: viewer.frames_since(stopped_at) == [], 2, "no frame after the stop")


def _output_states(client: FlaskClient) -> set[str]:
    return {output["state"] for output in client.get("/stream/status").get_json()["outputs"]}


def test_a_stopped_stream_never_reads_as_on_air(client: FlaskClient, live_stream) -> None:
    wait_until(lambda: _output_states(client) == {"live"}, 10, "the output to be live")
    answer = client.post("/stream/stop")
    assert answer.status_code == 200
    stopped = answer.get_json()
    # The telemetry still comes from the live stream: until the render worker confirms, the
    # outputs read stopping and no fps is claimed.
    assert stopped["state"] == "stopped" and stopped["isLive"] is False
    assert stopped["fps"] == 0
    assert {output["state"] for output in stopped["outputs"]} <= {"stopping", "stopped"}
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        status = client.get("/stream/status").get_json()
        assert status["fps"] == 0, status
        assert {output["state"] for output in status["outputs"]} <= {"stopping", "stopped"}
    confirmed = wait_until(
        lambda: (status := client.get("/stream/status").get_json())["outputs"][0]["state"]
        == "stopped" and status, 15, "the render worker to confirm the stop")
    assert confirmed["fps"] == 0 and confirmed["frameCount"] > 0  # the counts stay readable
    assert confirmed["outputs"][0]["error"] is None


def test_a_missing_image_draws_a_placeholder_and_is_reported(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings) -> None:
    media = settings.media_root / "logo.png"
    _write_png(media, (0, 255, 0))
    logo = add_layer(client, name="logo", type="image", content={"source": "logo.png"},
                     transform={"x": 100, "y": 100, "width": 200, "height": 100})
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY))
    wait_for_pixel(viewer, 200, 150, (0, 255, 0), 30)
    media.write_bytes(b"not a png at all")
    wait_until(lambda: client.get(f"/stream/layers/{logo['id']}").get_json()["error"], 10,
               "the layer's error")
    status = client.get("/stream/status").get_json()
    assert "logo" in status["error"] and status["isLive"]
    # The placeholder replaces the picture; the stream goes on.
    wait_until(lambda: not close_to(viewer.pixel(200, 150), (0, 255, 0)), 5, "placeholder")
    viewer.wait_for_frames(30, timeout=5, since=time.monotonic())
    # Fixed on disk, it heals by itself.
    _write_png(media, (0, 255, 0))
    wait_for_pixel(viewer, 200, 150, (0, 255, 0), 10)
    wait_until(lambda: client.get("/stream/status").get_json()["error"] is None, 10,
               "the error to clear")


def _write_png(path: Path, rgb: tuple[int, int, int]) -> None:
    temporary = path.with_suffix(".tmp")
    Image.new("RGB", (40, 20), rgb).save(temporary, format="PNG")
    temporary.replace(path)


def test_preview_frames_come_at_each_quality_size_even_before_going_live(
        client: FlaskClient, render_workers, settings, store) -> None:
    add_layer(client, **box("red", "#ff0000", 0, 0, 0, size=640))
    for quality in QUALITIES:  # as the preview process registers its clients
        store.live.register_preview_clients({f"watcher-{quality}": (quality, 0)},
                                            ttl_ms=600_000)
    subscriber = redis.Redis.from_url(settings.redis_url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*(Keys(settings.redis_prefix).preview_frames(quality)
                       for quality in QUALITIES))
    render_workers.start(**SIZE)
    try:
        sizes: dict[str, tuple[int, int]] = {}
        deadline = time.monotonic() + 30
        while len(sizes) < len(QUALITIES) and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                jpeg = message["data"]
                produced_at, _sequence = read_stamp(jpeg)
                assert abs(time.time() - produced_at) < 5
                picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                assert close_to(tuple(int(v) for v in picture[10, 10]), (0, 0, 255))
                quality = message["channel"].decode().rsplit(":", 1)[1]
                sizes[quality] = (picture.shape[1], picture.shape[0])
    finally:
        pubsub.close()
        subscriber.close()
    # The stream is stopped: the preview still shows the scene being built.
    assert client.get("/stream/status").get_json()["isLive"] is False
    assert sizes == {"high": (640, 360), "medium": (640, 360), "low": (320, 180)}
