"""The render worker's scene follows snapshots and events, ignoring stale or repeated ones."""

from __future__ import annotations

from typing import Any

from core import events
from core.layers import load_layer
from core.store import StoredEvent
from render.scene import CHAT_KEPT, Scene


def layer(layer_id: str, version: int = 1, z_index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": layer_id, "name": layer_id, "type": "color", "visible": True,
            "zIndex": z_index, "opacity": 1.0,
            "transform": {"x": 0, "y": 0, "width": 10, "height": 10, "scale": 1.0,
                          "rotation": 0.0},
            "content": {"color": "#ff0000"}, "version": version, "createdAt": 1,
            "updatedAt": 1, **extra}


def event(kind: str, data: dict[str, Any]) -> StoredEvent:
    return StoredEvent("1-0", kind, data)


def test_layers_come_bottom_to_top_and_events_replace_older_versions() -> None:
    scene = Scene()
    assert not scene.loaded  # nothing is drawn before the first full read
    scene.replace({"state": "live", "version": 3, "startTime": 5, "updatedAt": 5},
                  [load_layer(layer("top", z_index=5)), load_layer(layer("bottom", z_index=1))],
                  [])
    assert scene.loaded and [entry.id for entry in scene.layers()] == ["bottom", "top"]
    assert scene.apply(event(events.LAYER_UPDATED, layer("top", version=2, z_index=0)))
    assert [entry.id for entry in scene.layers()] == ["top", "bottom"]
    # The same event again, or an older one, changes nothing.
    assert not scene.apply(event(events.LAYER_UPDATED, layer("top", version=2, z_index=9)))
    assert not scene.apply(event(events.LAYER_UPDATED, layer("top", version=1, z_index=9)))
    assert scene.layers()[0].z_index == 0


def test_create_delete_reorder_state_and_chat_events() -> None:
    scene = Scene()
    assert scene.apply(event(events.LAYER_CREATED, layer("a")))
    assert scene.apply(event(events.LAYER_CREATED, layer("b", z_index=1)))
    assert scene.apply(event(events.LAYERS_REORDERED, {"layers": [
        {"id": "b", "zIndex": 0, "version": 2}, {"id": "a", "zIndex": 1, "version": 2}]}))
    assert [entry.id for entry in scene.layers()] == ["b", "a"]
    assert scene.apply(event(events.LAYER_DELETED, {"id": "b", "version": 3}))
    assert [entry.id for entry in scene.layers()] == ["a"]
    assert scene.apply(event(events.STREAM_STATE, {
        "action": "start", "state": "live", "version": 2, "startTime": 9, "updatedAt": 9}))
    assert scene.state == "live"
    assert not scene.apply(event(events.STREAM_STATE, {
        "action": "stop", "state": "stopped", "version": 1, "startTime": None,
        "updatedAt": 1}))
    for number in range(CHAT_KEPT + 5):
        scene.apply(event(events.CHAT_POSTED, {"id": f"m{number}", "author": "a",
                                                "message": "hi", "createdAt": number}))
    assert len(scene.chat) == CHAT_KEPT and scene.chat[-1]["id"] == f"m{CHAT_KEPT + 4}"


def test_malformed_events_are_ignored() -> None:
    scene = Scene()
    assert not scene.apply(event(events.LAYER_UPDATED, {"id": "x", "type": "nope"}))
    assert not scene.apply(event(events.LAYER_DELETED, {}))
    assert not scene.apply(event("something.else", {}))
    assert scene.layers() == []
