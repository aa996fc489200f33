"""The render worker's feed on a real Redis: an input layer's URL, masked in every event, reaches
the scene whole, in a single change and inside a batch alike, show control kept beside it."""

from __future__ import annotations

import queue
from pathlib import Path

from core import events
from core.layers import load_new_layer
from core.show import load_tween
from core.store import StateStore
from render.feed import FeedFollower
from render.inbox import InboxMessage, SceneEvent
from tests.support.processes import wait_until

URL = "rtmp://camera.example/live/secret-key-42"
FADE = {"durationMs": 500, "easing": "easeOut"}


def test_secrets_are_read_back_inside_batches(store: StateStore, tmp_path: Path) -> None:
    created = store.create_layer("c1", load_new_layer({
        "name": "cam", "type": "input", "content": {"url": URL}}))
    camera = created.body["id"]
    inbox: queue.Queue[InboxMessage] = queue.Queue()
    feed = FeedFollower(store, inbox, tmp_path)
    feed.start()
    try:
        wait_until(lambda: not inbox.empty(), 10, "the feed's first read")
        store.update_layer("c2", camera, {"opacity": 0.5}, tween=load_tween(FADE))
        store.batch("c3", [{"op": "update", "id": camera, "changes": {"opacity": 0.25}}],
                    FADE, effective_at=1_900_000_000_000)
        seen: list[SceneEvent] = []

        def both() -> bool:
            while not inbox.empty():
                message = inbox.get_nowait()
                if isinstance(message, SceneEvent):
                    seen.append(message)
            return len(seen) >= 2

        wait_until(both, 10, "both events")
    finally:
        feed.stop()
    single, batch = seen
    assert single.event.type == events.LAYER_UPDATED
    assert single.event.data["content"]["url"] == URL
    assert single.event.data["transition"] == FADE
    assert batch.event.type == events.LAYERS_BATCH
    entry = batch.event.data["events"][0]
    assert entry["data"]["content"]["url"] == URL
    assert batch.event.data["transition"] == FADE
    assert batch.event.data["effectiveAt"] == 1_900_000_000_000

