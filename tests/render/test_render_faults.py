"""The render worker heals by itself: ingest crashes and freezes, an ingest that never answers,
and the render worker itself killed with -9 (a hot standby takes over)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.store import StateStore
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.preview import ChannelCounter
from tests.support.processes import wait_until

# How long the test's own registration as a preview client lasts: longer than any test.
WATCH_MS = 600_000
SIZE = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": "30", "RECORD": "off"}


@pytest.fixture
def preview_counter(settings: Settings, store: StateStore) -> Iterator[ChannelCounter]:
    store.live.register_preview_clients({"counter": ("low", 0)}, ttl_ms=WATCH_MS)
    with ChannelCounter(settings, "low") as counter:
        yield counter


@pytest.fixture
def silent_ingest() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel does, from the backlog) and never
    says a word of RTMP."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def second_ingest(tmp_path: Path) -> Iterator[NginxRtmp]:
    server = NginxRtmp(tmp_path / "second").start()
    yield server
    server.stop()


def frame_count(client: FlaskClient) -> int:
    return client.get("/stream/status").get_json()["frameCount"]


def output_states(client: FlaskClient) -> dict[str, str]:
    return {output["name"]: output["state"]
            for output in client.get("/stream/status").get_json()["outputs"]}


def test_a_frozen_and_a_silent_ingest_stall_nothing_else(
        client: FlaskClient, render_workers, nginx_rtmp, second_ingest, silent_ingest,
        player, preview_counter) -> None:
    silent = f"rtmp://127.0.0.1:{silent_ingest}/live/key"
    urls = [nginx_rtmp.url("one"), second_ingest.url("two"), silent]
    render_workers.start(RTMP_URL=",".join(urls), **SIZE)
    assert client.post("/stream/start").status_code == 200
    first, second = player(nginx_rtmp.url("one")), player(second_ingest.url("two"))
    first.wait_for_frames(10, timeout=30)
    second.wait_for_frames(10, timeout=30)

    nginx_rtmp.freeze()
    frozen_at = time.monotonic()
    counted, previews = frame_count(client), preview_counter.count
    time.sleep(10)  # the fault itself: ten seconds frozen
    # Compositing went on, the preview flowed and the healthy ingest kept streaming.
    assert frame_count(client) - counted >= 0.9 * 30 * 9
    assert preview_counter.count - previews >= 0.9 * 15 * 9
    assert len(second.frames_since(frozen_at + 1)) >= 0.9 * 30 * 8
    states = output_states(client)
    assert states[f"rtmp://127.0.0.1:{second_ingest.port}/live"] == "live"
    assert states[f"rtmp://127.0.0.1:{silent_ingest}/live"] in ("connecting", "reconnecting",
                                                                "failed")
    nginx_rtmp.thaw()
    first.wait_for_frames(30, timeout=30, since=time.monotonic())
    wait_until(lambda: output_states(client)[f"rtmp://127.0.0.1:{nginx_rtmp.port}/live"]
               == "live", 15, "the thawed ingest to be live again")


def test_an_ingest_that_dies_and_returns_gets_the_stream_back(
        client: FlaskClient, render_workers, nginx_rtmp, player) -> None:
    render = render_workers.start(RTMP_URL=nginx_rtmp.url("key"), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url("key"))
    viewer.wait_for_frames(10, timeout=30)
    name = f"rtmp://127.0.0.1:{nginx_rtmp.port}/live"
    nginx_rtmp.kill()
    wait_until(lambda: output_states(client)[name] in ("reconnecting", "failed"), 15,
               "the output to notice")
    time.sleep(5)  # the fault itself: the ingest stays down for five seconds
    nginx_rtmp.start()
    viewer.wait_for_frames(30, timeout=40, since=time.monotonic())
    # The status follows the telemetry, written once a second: a viewer may see frames first.
    wait_until(lambda: output_states(client)[name] == "live", 5, "the output to read live")
    assert render.running  # healed inside the same render worker


def test_a_standby_takes_over_within_three_seconds_of_kill_9(
        client: FlaskClient, render_workers, nginx_rtmp, player, redis_client,
        settings: Settings) -> None:
    first = render_workers.start(RTMP_URL=nginx_rtmp.url("key"), **SIZE)
    holder = render_workers.wait_for_holder(redis_client, settings.redis_prefix)
    second = render_workers.start(RTMP_URL=nginx_rtmp.url("key"), **SIZE)
    wait_until(lambda: client.get("/health").get_json()["checks"]["render"]["standby"] == 1,
               30, "a hot standby")
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url("key"))
    viewer.wait_for_frames(10, timeout=30)
    active = first if f"-{render_workers.pid(first)}-" in holder else second
    render_workers.kill(active)
    killed_at = time.monotonic()
    wait_until(lambda: render_workers.holder(redis_client, settings.redis_prefix)
               not in (None, holder), 3.5, "the standby to take the lease")
    assert time.monotonic() - killed_at <= 3.0
    viewer.wait_for_frames(30, timeout=30, since=time.monotonic())
    status = client.get("/stream/status").get_json()
    assert status["isLive"] and status["outputs"][0]["state"] == "live"
