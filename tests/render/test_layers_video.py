"""Video and input layers in the compositor, with real source processes: the frame for each
instant, opacity and rotation on decoded pictures, a missing file, a file replaced in the
library, and the fallback of an input that never answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from core.layers import Layer, load_layer
from render.compositor import Compositor
from tests.support.clips import picture_number, write_clip
from tests.support.peers import Peer
from tests.support.processes import wait_until

WIDTH, HEIGHT = 320, 180


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


@pytest.fixture
def compositor(media: Path) -> Iterator[Compositor]:
    made = Compositor(WIDTH, HEIGHT, media)
    yield made
    made.close()


def layer(kind: str, content: dict[str, Any], **extra: Any) -> Layer:
    now = int(time.time() * 1000)
    wire = {"id": f"{kind}-1", "type": kind, "name": kind, "visible": True, "zIndex": 0,
            "opacity": 1.0, "transform": {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT},
            "content": content, "version": 1, "createdAt": now, "updatedAt": now, **extra}
    if kind == "video":
        wire.setdefault("playback", {"state": "playing", "position": 0.0, "since": now})
    return load_layer(wire)


def shown(compositor: Compositor, layers: list[Layer], check: Any, timeout: float) -> np.ndarray:
    """Compose at 30 fps until `check(frame)` holds; the frame that passed."""
    found: list[np.ndarray] = []

    def composed() -> bool:
        frame = compositor.compose(layers, [], time.time())
        if check(frame):
            found.append(frame)
            return True
        return False

    wait_until(composed, timeout, "the compositor to show it", interval=1 / 30)
    return found[0]


def test_a_paused_video_shows_the_frame_at_its_position(compositor: Compositor,
                                                        media: Path) -> None:
    clip = write_clip(media / "n.mp4", fps=25, seconds=3)
    paused = layer("video", {"source": "n.mp4"},
                   playback={"state": "paused", "position": 1.5, "since": 0})
    frame = shown(compositor, [paused], lambda f: picture_number(f) != 0, 10)
    assert picture_number(frame) == clip.index_at(1.5)
    assert compositor.errors == {}
    state = compositor.source_states["video-1"]
    assert state["duration"] == pytest.approx(clip.duration, abs=0.05)
    assert (state["width"], state["height"], state["codec"]) == (WIDTH, HEIGHT, "h264")


def test_opacity_and_rotation_apply_to_decoded_pictures(compositor: Compositor,
                                                        media: Path) -> None:
    write_clip(media / "n.mp4", fps=25, seconds=2)
    faded = layer("video", {"source": "n.mp4"}, opacity=0.5,
                  playback={"state": "paused", "position": 40.92, "since": 0})
    # The looping 2 s clip at 40.92 s shows frame 23 (0b10111): column 0 is white, and white
    # at half opacity over black reads about 128.
    frame = shown(compositor, [faded], lambda f: f.max() > 0, 10)
    assert 110 <= int(frame[HEIGHT // 2, 16].mean()) <= 145
    turned = layer("video", {"source": "n.mp4"},
                   transform={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT, "rotation": 180},
                   playback={"state": "paused", "position": 40.92, "since": 0})
    frame = shown(compositor, [turned], lambda f: f.max() > 0, 10)
    assert int(frame[HEIGHT // 2, WIDTH - 16].mean()) > 200  # bit 0, now on the right


def test_a_missing_video_shows_the_placeholder_and_a_replaced_one_is_picked_up(
        compositor: Compositor, media: Path) -> None:
    paused = layer("video", {"source": "n.mp4"},
                   playback={"state": "paused", "position": 0.2, "since": 0})
    frame = compositor.compose([paused], [], time.time())
    assert compositor.errors == {"video-1": "video 'n.mp4' not found"}
    assert tuple(frame[HEIGHT // 2, WIDTH // 2]) != (0, 0, 0)  # the placeholder
    first = write_clip(media / "n.mp4", fps=25, seconds=1)
    frame = shown(compositor, [paused], lambda f: picture_number(f) == first.index_at(0.2), 10)
    assert compositor.errors == {}
    replaced = write_clip(media / "other.mp4", fps=10, seconds=1)
    (media / "other.mp4").replace(media / "n.mp4")
    shown(compositor, [paused], lambda f: picture_number(f) == replaced.index_at(0.2), 10)


def test_an_input_that_never_answers_shows_its_slate(compositor: Compositor,
                                                     media: Path) -> None:
    Image.new("RGB", (16, 9), (0, 0, 255)).save(media / "slate.png")
    silent = Peer(garbage=False)
    try:
        waiting = layer("input", {"url": f"rtmp://127.0.0.1:{silent.port}/live/key",
                                  "fallback": "slate", "slate": "slate.png"})
        frame = compositor.compose([waiting], [], time.time())
        assert tuple(int(v) for v in frame[HEIGHT // 2, WIDTH // 2]) == (255, 0, 0)
        state = compositor.source_states["input-1"]
        assert state["state"] == "connecting" and state["lostSince"] is None
        hidden = layer("input", {"url": f"rtmp://127.0.0.1:{silent.port}/live/key",
                                 "fallback": "hide"})
        frame = compositor.compose([hidden], [], time.time())
        assert frame.max() == 0
    finally:
        silent.close()
