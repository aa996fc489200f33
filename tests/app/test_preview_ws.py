"""The WebSocket preview, end to end: a real WebSocket client against the real preview process
(gunicorn, as supervisord runs it), fed by the real render worker through real Redis, with
changes made through the API and a real Celery worker."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
import websocket
from flask.testing import FlaskClient
from PIL import Image

from app import create_app
from core.config import Settings
from core.preview_frames import read_stamp
from core.schemas.preview import QUALITIES
from core.store import StateStore
from tests.support.levels import LEVELS
from tests.support.metrics import scrape
from tests.support.preview import ChannelCounter, PreviewClient, PreviewServer, stalled_client
from tests.support.processes import wait_until
from tests.support.redis_server import RedisServer

# A 16:9 output whose three qualities all differ in size.
SIZE = {"OUTPUT_WIDTH": "960", "OUTPUT_HEIGHT": "540", "RECORD": "off"}
SIZES = {"high": (960, 540), "medium": (640, 360), "low": (320, 180)}
PREVIEW_FPS = 15
TOKEN = "operator-secret-token"


@pytest.fixture
def preview(base_env: dict[str, str], redis_client, tmp_path: Path
            ) -> Iterator[Callable[..., PreviewServer]]:
    """Factory of preview processes on the test Redis; `overrides` are environment variables."""
    servers: list[PreviewServer] = []

    def start(**overrides: str) -> PreviewServer:
        servers.append(PreviewServer({**base_env, **SIZE, **overrides}, tmp_path).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., PreviewClient]]:
    """Factory of PreviewClients, all closed after the test."""
    clients: list[PreviewClient] = []

    def make(url: str, **options) -> PreviewClient:
        clients.append(PreviewClient(url, **options))
        return clients[-1]

    yield make
    for each in clients:
        each.close()


def decode(jpeg: bytes) -> np.ndarray:
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "the frame is not a decodable JPEG"
    return picture


def size_of(jpeg: bytes) -> tuple[int, int]:
    picture = decode(jpeg)
    return picture.shape[1], picture.shape[0]


def add_red_box(client: FlaskClient) -> dict:
    response = client.post("/stream/layers", json={
        "name": "red", "type": "color", "content": {"color": "#ff0000"},
        "transform": {"x": 0, "y": 0, "width": 960, "height": 540}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def add_noise_image(client: FlaskClient, settings: Settings) -> None:
    """A full-frame image of noise: JPEGs of hundreds of KB, which fill a stalled client's
    socket buffers (megabytes, as the kernel grows them) within a second, not twenty."""
    noise = np.random.default_rng(5).integers(0, 256, (540, 960, 3), np.uint8)
    Image.fromarray(noise).save(settings.media_root / "noise.png")
    response = client.post("/stream/layers", json={
        "name": "noise", "type": "image", "content": {"source": "noise.png"},
        "transform": {"x": 0, "y": 0, "width": 960, "height": 540}})
    assert response.status_code == 201, response.get_json()


def refusal(url: str, **options) -> tuple[int, dict]:
    """The HTTP status and JSON body of a refused handshake."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5, **options)
    return refused.value.status_code, json.loads(refused.value.resp_body or b"{}")


def registered(client: FlaskClient) -> dict[str, str]:
    response = client.get("/stream/preview/clients")
    assert response.status_code == 200
    return {entry["id"]: entry["quality"] for entry in response.get_json()}


def test_hello_comes_first_then_frames_decode_at_each_quality_size(
        client: FlaskClient, render_workers, preview, connect) -> None:
    add_red_box(client)
    render_workers.start(**SIZE)
    server = preview()
    watchers = {quality: connect(server.url(quality=quality)) for quality in QUALITIES}
    default = connect(server.url())

    for quality, watcher in {**watchers, "medium (default)": default}.items():
        quality = quality.split()[0]
        hello = watcher.wait_for("hello")
        assert watcher.received.first_kinds[0] == "text"
        assert watcher.messages()[0]["type"] == "hello"
        payload = hello["payload"]
        assert (payload["quality"], payload["fps"]) == (quality, PREVIEW_FPS)
        assert (payload["width"], payload["height"]) == SIZES[quality]
        assert len(payload["clientId"]) >= 16
        wait_until(lambda w=watcher: w.received.last_frame, 30, f"a {quality} frame")
        jpeg = watcher.received.last_frame
        assert size_of(jpeg) == SIZES[quality]
        blue, green, red = (int(v) for v in decode(jpeg)[SIZES[quality][1] // 2, 10])
        assert red > 230 and green < 30 and blue < 30
        produced_at, _sequence = read_stamp(jpeg)
        assert abs(time.time() - produced_at) < 5

    ids = {watcher.messages("hello")[0]["payload"]["clientId"]: quality
           for quality, watcher in watchers.items()}
    assert ids.items() <= registered(client).items()


def test_a_patch_reaches_clients_as_layer_update_within_500_ms(
        client: FlaskClient, color_layer: dict, preview, connect) -> None:
    watcher = connect(preview().url(quality="low"))
    watcher.wait_for("streamState")
    for opacity in (0.5, 0.25, 0.75):
        started = time.monotonic()
        response = client.patch(f"/stream/layers/{color_layer['id']}", json={"opacity": opacity})
        assert response.status_code == 200, response.get_json()
        version = response.get_json()["version"]
        update = watcher.wait_for(
            "layerUpdate", 2, lambda m, v=version: m["payload"]["data"].get("version") == v)
        assert update["payload"]["event"] == "layer.updated"
        assert update["payload"]["data"]["opacity"] == opacity
        assert update["receivedAt"] - started <= 0.5


def test_published_audio_levels_reach_every_client_as_audio_levels(
        store: StateStore, preview, connect) -> None:
    server = preview()
    watchers = [connect(server.url(quality="low")), connect(server.url(quality="high"))]
    for watcher in watchers:
        watcher.wait_for("streamState")

    def relayed(sent: dict) -> bool:
        # The relay may not have subscribed yet (a message before that is missed): resend.
        store.live.publish_audio_levels(sent)
        return all(any(m["payload"] == sent for m in w.messages("audioLevels"))
                   for w in watchers)

    wait_until(lambda: relayed(LEVELS), 10, "audioLevels at every client", interval=0.1)
    # What is not a JSON object is not relayed, and the relay goes on.
    store.redis.publish(store.keys.audio_levels, "not json")
    store.redis.publish(store.keys.audio_levels, "[1, 2]")
    later = {**LEVELS, "layers": {}, "bed": None}
    wait_until(lambda: relayed(later), 5, "the next audioLevels", interval=0.1)
    for watcher in watchers:
        assert all(isinstance(m["payload"], dict) for m in watcher.messages("audioLevels"))
        assert not watcher.closed


def test_stream_state_on_every_change_and_every_second_while_live(
        client: FlaskClient, preview, connect) -> None:
    watcher = connect(preview().url())
    first = watcher.wait_for("streamState")
    assert first["payload"]["isLive"] is False
    assert client.post("/stream/start").status_code == 200
    live = watcher.wait_for("streamState", 2, lambda m: m["payload"]["isLive"])
    assert live["payload"]["state"] == "live"
    window_start = time.monotonic()
    wait_until(lambda: time.monotonic() - window_start >= 3.5, 5, "a 3.5 s window")
    during = [m for m in watcher.messages("streamState")
              if window_start <= m["receivedAt"] < window_start + 3.5]
    assert len(during) >= 3
    assert client.post("/stream/stop").status_code == 200
    watcher.wait_for("streamState", 2, lambda m: m["payload"]["state"] == "stopped"
                     and m["receivedAt"] > window_start)


def test_ping_gets_pong_and_a_client_that_never_answers_is_dropped(
        client: FlaskClient, preview, connect) -> None:
    server = preview(PREVIEW_PING_INTERVAL="0.5", PREVIEW_PONG_TIMEOUT="2")
    answering = connect(server.url())
    silent = connect(server.url(), answer_pings=False)
    answering.send({"type": "ping"})
    pong = answering.wait_for("pong", 2)
    assert abs(pong["payload"]["at"] / 1000 - time.time()) < 5
    silent_id = silent.wait_for("hello")["payload"]["clientId"]
    answering_id = answering.wait_for("hello")["payload"]["clientId"]
    assert silent.wait_for("ping", 2)

    started = time.monotonic()
    silent.wait_for_close(timeout=6)
    assert time.monotonic() - started <= 4
    # The one that answers stays, pinged all along; the dropped one leaves the registry.
    assert not answering.closed and len(answering.messages("ping")) >= 3
    wait_until(lambda: silent_id not in registered(client), 5, "the dropped client to go")
    assert answering_id in registered(client)


def test_a_quality_switch_takes_effect_with_a_new_hello(
        client: FlaskClient, settings: Settings, render_workers, preview, connect) -> None:
    add_red_box(client)
    render_workers.start(**SIZE)
    watcher = connect(preview().url(quality="low"), keep_frames=True)
    client_id = watcher.wait_for("hello")["payload"]["clientId"]
    wait_until(lambda: watcher.received.last_frame, 30, "a low frame")
    assert size_of(watcher.received.last_frame) == SIZES["low"]
    # Nobody watches high yet, so the render worker does not encode it.
    with ChannelCounter(settings, "high") as high:
        now = time.monotonic()
        wait_until(lambda: watcher.frames_between(now, now + 60) >= 20, 10, "20 low frames")
        assert high.count == 0

    watcher.send({"type": "quality", "quality": "high"})
    hello = watcher.wait_for("hello", 5, lambda m: m["payload"]["quality"] == "high")
    assert (hello["payload"]["width"], hello["payload"]["height"]) == SIZES["high"]
    assert hello["payload"]["clientId"] == client_id
    switched_at = hello["receivedAt"]
    wait_until(lambda: [t for t in watcher.received.frame_times if t > switched_at][:5], 10,
               "frames after the switch")
    after = [jpeg for at, jpeg in zip(watcher.received.frame_times,
                                      watcher.received.frames_kept, strict=True)
             if at > switched_at]
    assert {size_of(jpeg) for jpeg in after} == {SIZES["high"]}
    assert registered(client)[client_id] == "high"


def test_preview_processes_side_by_side_share_only_redis(
        client: FlaskClient, color_layer: dict, render_workers, preview, connect) -> None:
    render_workers.start(**SIZE)
    first, second = preview(), preview()
    watchers = [connect(first.url(quality="low")), connect(second.url(quality="medium"))]
    for watcher in watchers:
        wait_until(lambda w=watcher: w.received.last_frame, 30, "frames from each process")
    ids = {w.wait_for("hello")["payload"]["clientId"] for w in watchers}
    assert ids <= set(registered(client))
    response = client.patch(f"/stream/layers/{color_layer['id']}", json={"name": "both"})
    assert response.status_code == 200
    for watcher in watchers:
        watcher.wait_for("layerUpdate", 2, lambda m: m["payload"]["data"].get("name") == "both")


def test_the_preview_rides_out_a_redis_restart(
        client: FlaskClient, color_layer: dict, redis_server: RedisServer, render_workers,
        preview, connect) -> None:
    render_workers.start(**SIZE)
    watcher = connect(preview().url(quality="low"))
    wait_until(lambda: watcher.received.last_frame, 30, "frames")
    redis_server.stop()
    try:
        down_since = time.monotonic()
        wait_until(lambda: time.monotonic() - down_since >= 2, 5, "two seconds of outage")
        assert not watcher.closed  # clients stay connected through the outage
    finally:
        redis_server.start()
    back = time.monotonic()
    wait_until(lambda: watcher.frames_between(back, back + 600) >= 5, 30, "frames again")
    wait_until(lambda: client.patch(f"/stream/layers/{color_layer['id']}",
                                    json={"name": "after"}).status_code == 200, 60,
               "the worker applying commands again", interval=0.5)
    watcher.wait_for("layerUpdate", 5, lambda m: m["payload"]["data"].get("name") == "after")
    assert not watcher.closed


def test_handshakes_without_a_valid_token_or_ticket_or_from_a_foreign_origin_are_refused(
        settings: Settings, redis_client, celery_worker, preview, connect) -> None:
    server = preview(API_TOKEN=TOKEN)
    api = create_app(dataclasses.replace(settings, api_token=TOKEN))
    http = api.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    try:
        status, body = refusal(server.url())
        assert status == 401 and "ticket" in body["fields"]
        assert refusal(server.url(), header=["Authorization: Bearer wrong-token-123"])[0] == 401
        assert connect(server.url(), token=TOKEN).wait_for("hello")

        assert http.post("/preview/ticket").status_code == 401  # the API wants its token too
        issued = http.post("/preview/ticket", headers=bearer)
        assert issued.status_code == 201 and issued.headers["Cache-Control"] == "no-store"
        ticket = issued.get_json()["ticket"]
        assert issued.get_json()["expiresIn"] == 30
        api_origin = f"http://127.0.0.1:{settings.port}"
        assert connect(server.url(ticket=ticket), origin=api_origin).wait_for("hello")
        assert refusal(server.url(ticket=ticket), origin=api_origin)[0] == 401  # reused
        assert refusal(server.url(ticket="made-up-ticket"))[0] == 401
        assert refusal(server.url(ticket="x" * 1000))[0] == 401  # too long to be one

        status, body = refusal(server.url(), header=[f"Authorization: Bearer {TOKEN}"],
                               origin="http://evil.example")
        assert status == 403 and "Origin" in body["fields"]
        fresh = http.post("/preview/ticket", headers=bearer).get_json()["ticket"]
        assert refusal(server.url(ticket=fresh), origin="null")[0] == 403
        assert refusal(server.url(ticket=fresh),
                       origin=f"http://127.0.0.1.evil.example:{settings.port}")[0] == 403

        status, body = refusal(server.url(quality="4k"), header=[f"Authorization: Bearer {TOKEN}"])
        assert status == 400 and "quality" in body["fields"]
        plain = requests.get(f"{server.http}/preview", timeout=5)
        assert plain.status_code == 426 and plain.json()["error"] == "upgrade_required"
    finally:
        api.extensions["stream_manager"].close()


def test_preview_origins_replaces_the_default_allow_list(
        settings: Settings, preview, connect) -> None:
    server = preview(PREVIEW_ORIGINS="https://studio.example.com")
    assert connect(server.url(), origin="https://studio.example.com").wait_for("hello")
    assert connect(server.url(), origin="https://STUDIO.example.com:443").wait_for("hello")
    assert refusal(server.url(), origin=f"http://127.0.0.1:{settings.port}")[0] == 403


def test_bad_client_messages_close_only_that_connection_with_the_right_code(
        client: FlaskClient, render_workers, preview, connect) -> None:
    render_workers.start(**SIZE)
    server = preview()
    bystander = connect(server.url(quality="low"))
    wait_until(lambda: bystander.received.last_frame, 30, "frames for the bystander")
    cases = [
        (b"\x00\x01binary", 1003, "binary"),
        ("not json", 1008, "JSON"),
        ("[1, 2]", 1008, "object"),
        ({"type": "dance"}, 1008, "type"),
        ({"type": "quality", "quality": "4k"}, 1008, "quality"),
        ({"type": "quality"}, 1008, "quality"),
        ({"type": "ping", "extra": "x" * 5000}, 1009, ""),
    ]
    for message, code, reason in cases:
        offender = connect(server.url())
        offender.wait_for("hello")
        offender.send(message)
        closed = offender.wait_for_close(timeout=5)
        assert closed[0] == code and reason in closed[1], (message, closed)

    assert not bystander.closed
    now = time.monotonic()
    wait_until(lambda: bystander.frames_between(now, now + 60) >= 5, 5,
               "the bystander's frames to go on")
    wait_until(lambda: requests.get(f"{server.http}/health", timeout=5).json()["clients"]
               == {"low": 1}, 5, "only the bystander left")


def test_fifty_readers_and_a_stalled_client_each_keep_90_percent_of_preview_fps(
        client: FlaskClient, render_workers, preview, connect) -> None:
    add_red_box(client)
    render_workers.start(**SIZE)
    server = preview()
    stalled = stalled_client(server.url(quality="medium"))
    readers = [connect(server.url(quality="medium")) for _ in range(50)]
    wait_until(lambda: all(r.received.last_frame for r in readers), 30, "frames for all 50")
    window = 10.0
    start = time.monotonic() + 2.0  # past the start-up of the render's preview
    wait_until(lambda: time.monotonic() >= start + window, window + 5, "the window")
    rates = sorted(r.frames_between(start, start + window) / window for r in readers)
    print(f"50 readers at medium: slowest {rates[0]:.1f} fps, fastest {rates[-1]:.1f} fps")
    assert rates[0] >= 0.9 * PREVIEW_FPS, rates
    assert not any(r.closed for r in readers)
    stalled.shutdown()


def test_preview_memory_stays_flat_while_a_client_stalls_for_a_minute(
        client: FlaskClient, render_workers, preview, connect) -> None:
    add_red_box(client)
    render_workers.start(**SIZE)
    # Pongs are due only after two minutes, so the stalled client stays the whole minute.
    server = preview(PREVIEW_PONG_TIMEOUT="120")
    stalled = stalled_client(server.url(quality="high"))
    readers = [connect(server.url(quality="high")) for _ in range(3)]
    wait_until(lambda: all(r.received.last_frame for r in readers), 30, "frames")
    settle = time.monotonic() + 5
    wait_until(lambda: time.monotonic() >= settle, 10, "settling")
    baseline = server.rss_kib()
    samples = []
    end = time.monotonic() + 60
    while time.monotonic() < end:
        next_sample = time.monotonic() + 5
        wait_until(lambda t=next_sample: time.monotonic() >= t, 10, "the next sample")
        samples.append(server.rss_kib())
    growth = max(samples) - baseline
    print(f"preview worker RSS: {baseline} KiB after warm-up, then {samples} (max growth "
          f"{growth} KiB)")
    assert growth < 4 * 1024, (baseline, samples)
    # It sat there all along, still a registered client, while the others kept reading.
    assert list(registered(client).values()).count("high") == 4
    now = time.monotonic()
    assert all(r.frames_between(now - 5, now) >= 0.9 * PREVIEW_FPS * 5 - 2 for r in readers)
    stalled.shutdown()


def test_a_viewer_token_opens_the_preview(settings: Settings, redis_client, celery_worker,
                                          preview, connect) -> None:
    viewer = "viewer-read-only-token"
    server = preview(API_TOKEN=TOKEN, VIEWER_TOKEN=viewer)
    assert connect(server.url(), token=viewer).wait_for("hello")
    api = create_app(dataclasses.replace(settings, api_token=TOKEN, viewer_token=viewer))
    try:
        issued = api.test_client().post("/preview/ticket",
                                        headers={"Authorization": f"Bearer {viewer}"})
        assert issued.status_code == 201
        assert connect(server.url(ticket=issued.get_json()["ticket"])).wait_for("hello")
    finally:
        api.extensions["stream_manager"].close()


def test_preview_metrics_count_clients_by_quality_and_frames_sent_and_skipped(
        client: FlaskClient, settings: Settings, render_workers, preview, connect) -> None:
    add_noise_image(client, settings)
    render_workers.start(**SIZE)
    # Pongs are due only after two minutes, so the stalled client is not dropped meanwhile.
    server = preview(PREVIEW_PING_INTERVAL="60", PREVIEW_PONG_TIMEOUT="120")
    stalled = stalled_client(server.url(quality="high"))
    readers = [connect(server.url(quality=quality)) for quality in ("medium", "low", "low")]
    wait_until(lambda: all(r.received.last_frame for r in readers), 30, "frames")
    metrics = f"{server.http}/metrics"
    first = scrape(metrics)
    assert first.families["stream_manager_preview_clients"] == "gauge"
    assert {quality: first.total("stream_manager_preview_clients", quality=quality)
            for quality in QUALITIES} == {"high": 1, "medium": 1, "low": 2}
    wait_until(lambda: scrape(metrics).total("stream_manager_preview_frames_sent_total",
                                             quality="low")
               >= first.total("stream_manager_preview_frames_sent_total", quality="low") + 30,
               10, "low frames to be counted (two clients)")
    # The stalled client's socket buffers fill up (with noise, at once); then each new frame
    # replaces one it never took.
    wait_until(lambda: scrape(metrics).total("stream_manager_preview_frames_skipped_total",
                                             quality="high") > 10, 60, "skipped frames")
    assert scrape(metrics).total("stream_manager_preview_frames_skipped_total",
                                 quality="low") == 0
    stalled.shutdown()
