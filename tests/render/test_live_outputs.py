"""Outputs changed while on air, for real: API → Celery → Redis → `python -m render` → two
nginx-rtmp ingests and a recording, each ingest pulled back by a player.

One show, in the order an operator would run it (one test, so the stream starts once): ingest
A seeded from RTMP_URL and a recording in 10 s segments; B added while live; A disabled and
enabled again; B's key changed. Through all of it the other outputs must not blink: no gap
in their timestamps, no reopen, no decode error. Then the segments, the status after stop,
and every place a key could leak.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
import redis
import requests
from flask.testing import FlaskClient

from core.config import Settings
from core.keys import Keys
from render.outputs.segments import segments_of
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import FrameRecord, Player
from tests.support.processes import Process, holds_for, wait_until

SIZE = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": "30", "RECORD": "off"}
KEY_A, KEY_B, KEY_B2 = "keyA_Secret_1111", "keyB_Secret_2222", "keyB_Secret_3333"
FRAME = 1 / 30
# The figures: an added output plays within 5 s; the others never gap over 100 ms.
JOIN_SECONDS = 5.0
MAX_GAP = 0.1
RECORDING = "show recording"
SEGMENT_SECONDS, KEEP_SEGMENTS, RECORD_FOR = 10, 2, 35.0

log = logging.getLogger(__name__)


@pytest.fixture
def ingest_b(tmp_path: Path) -> Any:
    server = NginxRtmp(tmp_path / "ingest-b").start()
    yield server
    server.stop()


def largest_gap(frames: list[FrameRecord]) -> float:
    """The longest step between consecutive timestamps (seconds)."""
    stamps = [frame.pts for frame in frames if frame.pts is not None]
    assert len(stamps) > 10, f"only {len(stamps)} frames to judge"
    return max(later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False))


def first_frame_after(viewer: Player, since: float, timeout: float) -> float:
    """Seconds from `since` until `viewer` decoded a frame that arrived after it."""
    frames = viewer.wait_for_frames(1, timeout=timeout, since=since)
    return frames[0].arrival - since


def ended(viewer: Player, quiet: float = 1.0) -> bool:
    """No frame arrived over the last `quiet` seconds."""
    return not viewer.frames_since(time.monotonic() - quiet)


def states(client: FlaskClient) -> dict[str, str]:
    return {output["name"]: output["state"]
            for output in client.get("/stream/outputs").get_json()}


def patch(client: FlaskClient, output: dict[str, Any], **change: Any) -> dict[str, Any]:
    answer = client.patch(f"/stream/outputs/{output['id']}", json=change)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def mark(viewer: Player) -> tuple[int, list[str]]:
    """What `unbroken` compares with: the player's opens and errors so far."""
    return viewer.opens, list(viewer.errors)


def unbroken(viewer: Player, marked: tuple[int, list[str]], since: float) -> float:
    """The largest timestamp gap since `since`, after checking the player neither reopened
    nor met an error since `marked`."""
    assert mark(viewer) == marked, (marked, mark(viewer))
    return largest_gap(viewer.frames_since(since))


def test_outputs_change_while_on_air_and_nothing_else_blinks(
        client: FlaskClient, render_workers, nginx_rtmp: NginxRtmp, ingest_b: NginxRtmp,
        player: Callable[[str], Player], settings: Settings, redis_client: redis.Redis,
        celery_worker: Process, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    figures: dict[str, float] = {}
    recording = client.post("/stream/outputs", json={
        "name": RECORDING, "kind": "record", "segmentSeconds": SEGMENT_SECONDS,
        "keepSegments": KEEP_SEGMENTS}).get_json()
    # RTMP_URL seeds A only when the store has no outputs: add it as the seed would.
    a = client.post("/stream/outputs", json={"kind": "rtmp", "url": nginx_rtmp.url(KEY_A)}
                    ).get_json()
    render = render_workers.start(RTMP_URL=nginx_rtmp.url("never_used"), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer_a = player(nginx_rtmp.url(KEY_A))
    viewer_a.wait_for_frames(30, timeout=30)
    recording_began = time.monotonic()
    folder = settings.recordings_dir
    wait_until(lambda: segments_of(folder, RECORDING), 10, "the first segment")
    opens_a = mark(viewer_a)

    # B joins while live; A does not notice.
    viewer_b = player(ingest_b.url(KEY_B))
    added = time.monotonic()
    b = client.post("/stream/outputs", json={
        "name": "B", "kind": "rtmp", "url": f"rtmp://127.0.0.1:{ingest_b.port}/live",
        "key": KEY_B})
    assert b.status_code == 201, b.get_json()
    b = b.get_json()
    figures["join"] = first_frame_after(viewer_b, added, JOIN_SECONDS)
    viewer_b.wait_for_frames(60, timeout=5, since=added)
    figures["gap A while B joined"] = unbroken(viewer_a, opens_a, added - 1)
    wait_until(lambda: states(client) == {RECORDING: "live", a["name"]: "live", "B": "live"},
               5, "every output live")
    opens_b = mark(viewer_b)

    # A disabled: its stream ends with a trailer, B goes on.
    disabled = time.monotonic()
    patch(client, a, enabled=False)
    wait_until(lambda: ended(viewer_a), 5, "A's stream to end")
    figures["A ended"] = viewer_a.frames[-1].arrival - disabled
    assert states(client)[a["name"]] == "disabled"
    figures["gap B while A left"] = unbroken(viewer_b, opens_b, disabled - 1)

    # A back: it joins at the next keyframe, B goes on.
    enabled = time.monotonic()
    patch(client, a, enabled=True)
    figures["rejoin"] = first_frame_after(viewer_a, enabled, JOIN_SECONDS)
    viewer_a.wait_for_frames(60, timeout=5, since=enabled)
    figures["gap B while A rejoined"] = unbroken(viewer_b, opens_b, enabled - 1)
    opens_a = mark(viewer_a)

    # B's key changed: B alone reconnects, on the new key; A goes on.
    viewer_b2 = player(ingest_b.url(KEY_B2))
    rekeyed = time.monotonic()
    assert patch(client, b, key=KEY_B2)["hasKey"] is True
    figures["reconnect"] = first_frame_after(viewer_b2, rekeyed, JOIN_SECONDS)
    wait_until(lambda: ended(viewer_b), 5, "the old key's stream to end")
    viewer_b2.wait_for_frames(60, timeout=5, since=rekeyed)
    figures["gap A while B reconnected"] = unbroken(viewer_a, opens_a, rekeyed - 1)

    # The recording went on through all of it, in segments, keeping the newest.
    holds_for(lambda: len(segments_of(folder, RECORDING)) <= KEEP_SEGMENTS + 1,
              max(0.0, RECORD_FOR - (time.monotonic() - recording_began)),
              "at most KEEP_SEGMENTS + 1 segments kept", interval=0.2)
    status = client.get("/stream/status").get_json()
    assert {output["name"]: output["state"] for output in status["outputs"]} == {
        RECORDING: "live", a["name"]: "live", "B": "live"}
    assert all(output["bitrate"] > 100_000 and output["since"] for output in status["outputs"])
    metrics = requests.get(render_workers.metrics_url(render), timeout=10).text

    assert client.post("/stream/stop").status_code == 200
    wait_until(lambda: set(states(client).values()) == {"stopped"}, 15, "every output stopped")
    log.info("figures (s): %s", {name: round(value, 3) for name, value in figures.items()})
    assert figures["join"] < JOIN_SECONDS and figures["rejoin"] < JOIN_SECONDS
    assert figures["reconnect"] < JOIN_SECONDS and figures["A ended"] < 3
    assert max(value for name, value in figures.items() if name.startswith("gap")) < MAX_GAP

    segments = segments_of(folder, RECORDING)
    assert KEEP_SEGMENTS <= len(segments) <= KEEP_SEGMENTS + 1
    frames = [frames_in(path) for path in segments]
    # Each closed segment holds its five 2 s GOPs; the last one what was left at the stop.
    assert all(frames > 0.9 * SEGMENT_SECONDS * 30 for frames in frames[:-1]), frames

    reads = [client.get(url).get_json() for url in (
        "/stream/outputs", f"/stream/outputs/{a['id']}", f"/stream/outputs/{b['id']}",
        f"/stream/outputs/{recording['id']}", "/stream/status", "/health")]
    events = redis_client.xrange(Keys(settings.redis_prefix).events)
    render_workers.stop_all()
    seen = {
        "reads": json.dumps(reads), "events": json.dumps(events), "metrics": metrics,
        "render log": render.log_path.read_text(errors="replace"),
        "worker log": celery_worker.log_path.read_text(errors="replace"),
        "api log": caplog.text,
    }
    for key in (KEY_A, KEY_B, KEY_B2):
        assert not [where for where, text in seen.items() if key in text], key


def frames_in(path: Path) -> int:
    """The frames of a recording, which must start with a keyframe and decode from its first
    packet on, every packet giving its frame."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        packets = [packet for packet in container.demux(video) if packet.size]
        assert packets and packets[0].is_keyframe, path.name
        decoded = sum(len(packet.decode()) for packet in packets)
        decoded += len(video.codec_context.decode(None))
        assert decoded == len(packets), path.name
        return decoded
