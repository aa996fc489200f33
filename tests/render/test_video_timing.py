"""A 30 fps video on a 30 fps program shows each of its frames once, whatever the phase between
the file's frames and the program's slots (the layer's playback anchor falls anywhere)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import cv2
import pytest

from core.layers import load_layer
from render.compositor import Compositor
from render.sources.spec import PixelFormat
from tests.support.clips import picture_number, write_clip

FPS = 30
WIDTH, HEIGHT = 320, 180


@pytest.mark.parametrize("frame_format", ["bgr24", "yuv420p"])
def test_each_frame_once_when_the_slots_fall_just_before_the_frames(
        tmp_path: Path, frame_format: PixelFormat) -> None:
    clip = write_clip(tmp_path / "numbered.mp4", fps=FPS, seconds=4)
    # The first slot 32.133 ms after the anchor: every slot falls 0.2 ms short of where the
    # picker's 1 ms tolerance reaches the next frame. Positions rounded to the ms (as they
    # were) crossed it every third slot: one frame shown twice, the next skipped.
    anchor_ms = math.floor(time.time() * 1000) + 500
    first_slot = (anchor_ms + 32.133) / 1000
    video = load_layer({
        "id": "video-1", "type": "video", "name": "clip", "visible": True, "zIndex": 0,
        "opacity": 1.0, "transform": {"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT},
        "content": {"source": clip.path.name}, "version": 1, "createdAt": anchor_ms,
        "updatedAt": anchor_ms,
        "playback": {"state": "playing", "position": 0.0, "since": anchor_ms}})
    compositor = Compositor(WIDTH, HEIGHT, tmp_path, frame_format=frame_format)
    shown = []
    try:
        for slot in range(3 * FPS):
            now = first_slot + slot / FPS
            time.sleep(max(0.0, now - time.time()))
            frame = compositor.compose([video], [], now)
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_YUV2BGR_I420)
            shown.append(picture_number(frame))
    finally:
        compositor.close()
    # From the second second on (the source process has started and caught up).
    steps = [b - a for a, b in zip(shown[FPS:], shown[FPS + 1:], strict=False)]
    assert steps == [1] * len(steps), shown
