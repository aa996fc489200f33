"""Frame fan-out against a real Redis: one subscription per quality, latest-wins slots."""

from __future__ import annotations

import time

import redis

from app.preview.hub import FrameHub
from core.config import Settings
from core.keys import Keys
from core.preview_frames import pack_frame
from tests.support.processes import wait_until


def subscribers(client: redis.Redis, channel: str) -> int:
    return dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)


def test_a_stalled_slot_holds_one_frame_and_never_holds_back_the_others(
        settings: Settings, redis_client: redis.Redis) -> None:
    binary = redis.Redis.from_url(settings.redis_url)
    keys = Keys(settings.redis_prefix)
    channel = keys.preview_frames("low")
    hub = FrameHub(binary, keys)
    reader, stalled = hub.join("low"), hub.join("low")
    try:
        wait_until(lambda: subscribers(binary, channel) == 1, 5, "one subscription for two")
        received = []
        for sequence in range(1, 101):
            binary.publish(channel, pack_frame(b"jpeg%d" % sequence, time.time(), sequence))
            frame = reader.take(timeout=2)
            assert frame is not None
            received.append(frame[1])
        assert received == list(range(1, 101))
        # The one that never read holds only the newest frame; the rest were skipped.
        wait_until(lambda: stalled.skipped == 99, 5, "the stalled slot to skip")
        assert stalled.take(timeout=0) is not None and stalled.take(timeout=0) is None
        binary.publish(channel, b"short")  # malformed: ignored, the listener goes on
        binary.publish(channel, pack_frame(b"after", time.time(), 101))
        assert reader.take(timeout=2)[2] == b"after"
    finally:
        hub.leave("low", reader)
        hub.leave("low", stalled)
    wait_until(lambda: subscribers(binary, channel) == 0, 5, "the subscription to end")
    binary.close()
