"""Frame fan-out against a real Redis (one subscription per quality, latest-wins outboxes), the
outbox's order and bounds, and the preview app's threads stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from app.preview import create_preview_app, stop_preview_threads
from app.preview.hub import FrameHub
from app.preview.outbox import Outbox
from core.config import Settings
from core.keys import Keys
from core.preview_frames import read_stamp, stamp_frame
from tests.support.processes import wait_until

JPEG = b"\xff\xd8\xff\xe0\x00\x04\x00\x00"


def subscribers(client: redis.Redis, channel: str) -> int:
    return dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)


@pytest.fixture
def binary(settings: Settings, redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """A client that does not decode responses, as the hub needs for frames."""
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def hub(settings: Settings, binary: redis.Redis) -> Iterator[FrameHub]:
    """A frame hub whose listeners are stopped after the test, whatever it left behind."""
    hub = FrameHub(binary, Keys(settings.redis_prefix))
    yield hub
    hub.stop()


def test_a_stalled_outbox_holds_one_frame_and_never_holds_back_the_others(
        settings: Settings, binary: redis.Redis, hub: FrameHub) -> None:
    channel = Keys(settings.redis_prefix).preview_frames("low")
    reader, stalled = Outbox("low"), Outbox("low")
    hub.join("low", reader)
    hub.join("low", stalled)
    try:
        wait_until(lambda: subscribers(binary, channel) == 1, 5, "one subscription for two")
        received = []
        for sequence in range(1, 101):
            binary.publish(channel, stamp_frame(JPEG, time.time(), sequence))
            frame = reader.take(timeout=2)
            assert isinstance(frame, bytes)
            received.append(frame)
        assert [read_stamp(frame)[1] for frame in received] == list(range(1, 101))
        # The one that never read holds only the newest frame; the rest were skipped.
        wait_until(lambda: stalled.skipped == 99, 5, "the stalled outbox to skip")
        assert stalled.take(timeout=0) == received[-1] and stalled.take(timeout=0) is None
        binary.publish(channel, b"not a jpeg")  # ignored; the listener goes on
        last = stamp_frame(JPEG, time.time(), 101)
        binary.publish(channel, last)
        assert reader.take(timeout=2) == last
    finally:
        hub.leave("low", reader)
        hub.leave("low", stalled)
    wait_until(lambda: subscribers(binary, channel) == 0, 5, "the subscription to end")


def test_outbox_sends_messages_then_state_then_levels_then_frame_keeping_the_newest() -> None:
    outbox = Outbox("medium")
    outbox.put_frame("medium", b"frame-1")
    outbox.put_levels("levels-1")
    outbox.put_state("state-1")
    outbox.put_message("hello")
    outbox.put_frame("medium", b"frame-2")
    outbox.put_levels("levels-2")
    outbox.put_state("state-2")
    outbox.put_message("layerUpdate")
    assert [outbox.take(0) for _ in range(6)] == [
        "hello", "layerUpdate", "state-2", "levels-2", b"frame-2", None]
    assert outbox.skipped == 1


def test_outbox_switch_drops_frames_of_the_old_quality() -> None:
    outbox = Outbox("high")
    outbox.put_frame("high", b"big")
    outbox.switch("low")
    outbox.put_frame("high", b"late big")  # copied by the old quality's listener before leave
    assert outbox.take(0) is None
    outbox.put_frame("low", b"small")
    assert outbox.take(0) == b"small"


def test_outbox_overflows_and_closes_instead_of_growing() -> None:
    outbox = Outbox("low", max_messages=3)
    for n in range(3):
        outbox.put_message(f"m{n}")
    assert not outbox.overflowed
    outbox.put_message("m3")
    assert outbox.overflowed and outbox.closed
    assert outbox.take(0) is None


def test_the_preview_app_stops_every_thread_it_started(settings: Settings,
                                                       redis_client: redis.Redis) -> None:
    before = set(threading.enumerate())
    app = create_preview_app(settings)
    started = set(threading.enumerate()) - before
    assert started and all(thread.is_alive() for thread in started)
    stop_preview_threads(app)
    assert not any(thread.is_alive() for thread in started)
