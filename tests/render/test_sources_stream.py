"""Video and input layers on air, for real: API → Celery → Redis → `python -m render` (with its
source processes) → nginx-rtmp → a player that decodes the program.

Clips show their frame index in binary (tests.support.clips), so which frame of a file or of a
camera is on air is read from the program's pixels, not guessed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.render.test_render_stream import KEY, SIZE, add_layer, close_to, wait_for_pixel
from tests.support.clips import picture_number, write_clip
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.peers import Peer
from tests.support.player import FrameRecord, Player
from tests.support.processes import wait_until
from tests.support.publisher import Publisher

FPS = 30
GREEN = (0, 255, 0)
# bg.mp4's white square (160x160 of 1280x720) is 80x80 on the 640x360 program.
SQUARE = (slice(8, 72), slice(8, 72))
# Where a stream's playback is judged from (stream time, s): in its first second a video was
# seen to lag and catch up by 10 frames while the outputs started (the player's first picture
# used to come later than this; it now comes with the first keyframe).
STARTED = 2.0


def square_shown(image: np.ndarray) -> bool:
    """Whether bg.mp4's top-left white marker square is on the frame."""
    return bool(image[SQUARE].min() > 200)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A coarse copy of the frame, to tell frames apart without keeping them."""
    return image[::24, ::24].astype(np.int16)


def video_layer(client: FlaskClient, source: str, **extra: Any) -> dict[str, Any]:
    return add_layer(client, name="clip", type="video", content={"source": source},
                     transform={"x": 0, "y": 0, "width": 640, "height": 360}, **extra)


def go_live(client: FlaskClient, render_workers, nginx_rtmp: NginxRtmp,
            player: Callable[..., Player], **options: Any) -> Player:
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY), **options)
    viewer.wait_for_frames(5, timeout=30)
    return viewer


def dropped_frames(client: FlaskClient) -> int:
    return int(client.get("/stream/status").get_json()["droppedFrames"])


def test_a_video_plays_in_real_time_and_loops(client: FlaskClient, render_workers, nginx_rtmp,
                                              player, settings, media_assets: Path) -> None:
    shutil.copy(media_assets / "bg.mp4", settings.media_root / "bg.mp4")
    video_layer(client, "bg.mp4")
    viewer = go_live(client, render_workers, nginx_rtmp, player,
                     measure=lambda image: (square_shown(image), thumbnail(image)))
    # 12 s of program past its start: the 10 s file plays through its loop point.
    wait_until(lambda: (viewer.frames[-1].pts or 0.0) >= STARTED, 10, "the stream past its start")
    since = time.monotonic()
    frames = viewer.wait_for_frames(12 * FPS, timeout=30, since=since)
    marks = [frame.measured for frame in frames]
    same = sum(int(np.abs(a[1] - b[1]).max() <= 12) for a, b in zip(marks, marks[1:],
                                                                      strict=False))
    repeats = [round(b.pts, 2) for a, b in zip(frames, frames[1:], strict=False)
               if np.abs(a.measured[1] - b.measured[1]).max() <= 12]
    assert same <= len(marks) // 100, f"{same} of {len(marks)} frames repeat: at {repeats}"
    onsets = _square_onsets(frames)
    assert len(onsets) >= 11, onsets
    gaps = np.diff(onsets)
    assert gaps.min() >= 0.9 and gaps.max() <= 1.1, gaps


def _square_onsets(frames: list[FrameRecord]) -> list[float]:
    """Stream times (s) where the marker square appears."""
    onsets = []
    for earlier, later in zip(frames, frames[1:], strict=False):
        assert isinstance(later.measured, tuple) and isinstance(earlier.measured, tuple)
        if later.measured[0] and not earlier.measured[0] and later.pts is not None:
            onsets.append(later.pts)
    return onsets


def test_pause_holds_a_frame_and_seek_lands_on_the_asked_one(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "numbered.mp4", fps=25, seconds=8)
    shutil.copy(clip.path, settings.media_root / "numbered.mp4")
    layer = video_layer(client, "numbered.mp4")
    viewer = go_live(client, render_workers, nginx_rtmp, player, measure=picture_number)
    url = f"/stream/layers/{layer['id']}/playback"

    paused = client.post(url, json={"action": "pause"})
    assert paused.status_code == 200, paused.get_json()
    held = paused.get_json()["playback"]
    assert held["state"] == "paused"
    shown = {frame.measured for frame in viewer.wait_for_frames(
        FPS, timeout=10, since=time.monotonic() + 1.0)}
    assert len(shown) == 1, f"a paused video showed frames {sorted(shown)}"

    for position in (5.0, 2.34):
        sought = client.post(url, json={"action": "seek", "position": position})
        assert sought.status_code == 200, sought.get_json()
        expected = clip.index_at(position)
        wait_until(lambda expected=expected: abs(viewer.frames[-1].measured - expected) <= 1,
                   5, f"frame {expected} after seeking to {position} s")
        read = client.get(f"/stream/layers/{layer['id']}").get_json()["playback"]
        assert read["state"] == "paused" and read["position"] == pytest.approx(position)
        assert read["duration"] == pytest.approx(clip.duration, abs=0.05)

    assert client.post(url, json={"action": "play"}).status_code == 200
    wait_until(lambda: viewer.frames[-1].measured > clip.index_at(2.34) + 10, 5,
               "playing on after the seek")


def test_an_input_shows_its_stream_falls_back_to_the_slate_and_comes_back(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        tmp_path: Path) -> None:
    Image.new("RGB", (32, 18), (0, 255, 0)).save(settings.media_root / "slate.png")
    camera = Publisher(nginx_rtmp.url("camera"), tmp_path / "camera.log").start()
    layer = add_layer(client, name="camera", type="input", content={
        "url": nginx_rtmp.url("camera"), "fallback": "slate", "slate": "slate.png"},
        transform={"x": 320, "y": 0, "width": 320, "height": 180})
    assert layer["content"]["url"].endswith("/live/***")
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    read = f"/stream/layers/{layer['id']}"

    def camera_on_air() -> bool:
        region = viewer.latest_frame()[0:180, 320:640]
        return not close_to(tuple(int(v) for v in region[90, 160]), GREEN) and \
            picture_number(region) > 0

    wait_until(camera_on_air, 15, "the camera's pictures at the layer's place")
    wait_until(lambda: client.get(read).get_json()["input"]["state"] == "live", 5, "live")
    before = dropped_frames(client)

    camera.kill()
    lost_at = time.monotonic()
    wait_for_pixel(viewer, 480, 90, GREEN, 3)
    assert time.monotonic() - lost_at <= 2.5
    state = wait_until(lambda: (found := client.get(read).get_json()["input"])["state"] == "lost"
                       and found, 5, "the layer to read lost")
    assert state["lostSince"] is not None

    camera = Publisher(nginx_rtmp.url("camera"), tmp_path / "camera-again.log").start()
    back_from = time.monotonic()
    wait_until(camera_on_air, 8, "the camera back on air")
    assert time.monotonic() - back_from <= 6.0  # 5 s, plus the publisher's own start
    camera.stop()
    assert dropped_frames(client) == before


def test_broken_inputs_never_cost_the_program_a_frame(
        client: FlaskClient, render_workers, nginx_rtmp, player, tmp_path: Path) -> None:
    silent, garbage = Peer(garbage=False), Peer(garbage=True)
    frozen = Publisher(nginx_rtmp.url("frozen"), tmp_path / "frozen.log").start()
    for name, url in (("silent", f"rtmp://127.0.0.1:{silent.port}/live/key"),
                      ("garbage", f"tcp://127.0.0.1:{garbage.port}"),
                      ("frozen", nginx_rtmp.url("frozen"))):
        add_layer(client, name=name, type="input", content={"url": url},
                  transform={"x": 0, "y": 0, "width": 160, "height": 90})
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    viewer.wait_for_frames(2 * FPS, timeout=10, since=time.monotonic())
    frozen.freeze()
    before = dropped_frames(client)
    since = time.monotonic()
    frames = viewer.wait_for_frames(6 * FPS, timeout=15, since=since)
    assert dropped_frames(client) == before
    pts = [frame.pts for frame in frames if frame.pts is not None]
    assert max(np.diff(pts)) < 2.5 / FPS
    frozen.stop()
    silent.close()
    garbage.close()
