"""A cue on air, for real: API → Celery → the beat → the worker's commit ahead of time → the
render worker holding the change → nginx-rtmp. The cue's batch lands on the first output
frame at or after its time, read from the preview frames' stamps (the wall-clock time each
frame was handed over, right after it was composed; with PREVIEW_FPS above the output's, every
output frame is one), and the program on nginx-rtmp shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import redis
from flask.testing import FlaskClient

from core.config import Settings
from core.keys import Keys
from core.preview_frames import read_stamp
from core.store import StateStore
from tests.render.test_render_stream import KEY, SIZE, add_layer, box, wait_for_pixel
from tests.support.beat import wait_for_beat_lease
from tests.support.processes import Process

FRAME_MS = 1000 / int(SIZE["RENDER_FPS"])
GREEN = (0, 255, 0)


@dataclass(frozen=True)
class Shown:
    """A preview frame: when it was handed over (epoch s), its number, and whether it is
    green."""

    stamp: float
    sequence: int
    green: bool



def _frames(pubsub: redis.client.PubSub, until: float) -> list[Shown]:
    """Every preview frame received until one stamped past `until` (epoch s)."""
    shown: list[Shown] = []
    deadline = time.monotonic() + until - time.time() + 10
    while (not shown or shown[-1].stamp <= until) and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if not message or message["type"] != "message":
            continue
        stamp, sequence = read_stamp(message["data"])
        picture = cv2.imdecode(np.frombuffer(message["data"], np.uint8), cv2.IMREAD_COLOR)
        blue, green, red = (int(value) for value in picture[180, 320])
        shown.append(Shown(stamp, sequence, green > 200 and red < 80 and blue < 80))
    return shown


def test_a_cue_lands_on_the_first_frame_at_its_time(
        client: FlaskClient, store: StateStore, settings: Settings, beat: Process,
        render_workers, nginx_rtmp, player) -> None:
    layer = add_layer(client, **box("full", "#ff0000", 0, 0, 1, size=640))
    store.live.register_preview_clients({"cue-watcher": ("medium", 0)}, ttl_ms=600_000)
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), PREVIEW_FPS="60", **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY))
    viewer.wait_for_frames(5, timeout=30)
    wait_for_beat_lease(store)
    subscriber = redis.Redis.from_url(settings.redis_url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(Keys(settings.redis_prefix).preview_frames("medium"))
    try:
        created = client.post("/stream/cues", json={
            "name": "go green", "inMs": 3000, "action": {"kind": "batch", "operations": [
                {"op": "update", "id": layer["id"],
                 "changes": {"content": {"color": "#00ff00"}}}]}})
        assert created.status_code == 201, created.get_json()
        due = created.get_json()["at"] / 1000
        shown = _frames(pubsub, due + 1.0)
    finally:
        pubsub.close()
        subscriber.close()
    first = next(index for index, frame in enumerate(shown) if frame.green)
    before, green = shown[first - 1], shown[first]
    assert not any(frame.green for frame in shown[:first]) and shown[-1].green
    # Consecutive frames: none was left out between the last red one and the first green.
    assert green.sequence == before.sequence + 1, (before, green)
    lateness_ms = (green.stamp - due) * 1000
    # The stamp is taken once the frame is composed, a few ms after the frame's instant: the
    # instant is at most that much earlier. Projected from the frames around it, each one
    # FRAME_MS apart, the earliest stamp bounds the green frame's instant from above.
    around = shown[max(0, first - 15):first + 15]
    instant = min(frame.stamp - (frame.sequence - green.sequence) * FRAME_MS / 1000
                  for frame in around)
    print(f"first green frame handed over {lateness_ms:.1f} ms after the cue's time; its "
          f"instant at most {(instant - due) * 1000:.1f} ms after; the last red one "
          f"{(before.stamp - due) * 1000:.1f} ms")
    assert 0 <= lateness_ms <= 2 * FRAME_MS, (before, green, due)
    assert (instant - due) * 1000 < FRAME_MS
    wait_for_pixel(viewer, 320, 180, GREEN, 5)
    ran = client.get(f"/stream/cues/{created.get_json()['id']}").get_json()
    assert ran["state"] == "done" and ran["lastRun"]["result"] == "ok"
