"""Show control on air, for real: API → Celery → Redis → `python -m render` → nginx-rtmp → a
player decoding every frame, measuring each one as it comes (`Player(measure=...)`).

- a batch changing two layers never shows on a frame with one changed and not the other;
- a 1000 ms easeInOut tween of x goes through the frames between, monotonic, starting slow;
- a 1 s fade between two scenes shows frames blending both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from flask.testing import FlaskClient

from tests.render.test_render_stream import KEY, SIZE, add_layer, box, wait_for_pixel
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player

RED, GREEN, BLUE, WHITE = (0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255)
# Where the measures look, in the 640x360 program.
A_AT, B_AT, ROW = (70, 70), (250, 70), 300
FPS = 30


def measure(frame: np.ndarray) -> dict[str, Any]:
    """What each decoded frame shows: the two boxes' colours, the centre's, and where a white
    box begins on ROW (-1: nowhere)."""
    lit = np.flatnonzero(frame[ROW, :, 1] > 127)
    return {"a": _bgr(frame, A_AT), "b": _bgr(frame, B_AT), "centre": _bgr(frame, (320, 180)),
            "edge": int(lit[0]) if len(lit) else -1}


def _bgr(frame: np.ndarray, at: tuple[int, int]) -> tuple[int, int, int]:
    b, g, r = (int(value) for value in frame[at[1], at[0]])
    return b, g, r


def go_live(client: FlaskClient, render_workers, nginx_rtmp: NginxRtmp,
            player: Callable[..., Player]) -> Player:
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), **SIZE)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY), measure=measure)
    viewer.wait_for_frames(5, timeout=30)
    return viewer


def measured_since(viewer: Player, since: float) -> list[dict[str, Any]]:
    return [frame.measured for frame in viewer.frames_since(since)]  # type: ignore[misc]


def post(client: FlaskClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(url, json=body)
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


def test_no_frame_shows_half_a_batch(client: FlaskClient, render_workers, nginx_rtmp,
                                     player) -> None:
    a = add_layer(client, **box("a", "#ff0000", 20, 20, 1))
    b = add_layer(client, **box("b", "#0000ff", 200, 20, 2))
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    wait_for_pixel(viewer, *B_AT, BLUE, 10)
    started = time.monotonic()
    tries = 20
    for attempt in range(tries):
        colours = ("#00ff00", "#ffff00") if attempt % 2 == 0 else ("#ff0000", "#0000ff")
        post(client, "/stream/batch", {"operations": [
            {"op": "update", "id": layer["id"], "changes": {"content": {"color": colour}}}
            for layer, colour in zip((a, b), colours, strict=True)]})
        viewer.wait_for_frames(6, timeout=5, since=time.monotonic())  # a few frames each
    wait_for_pixel(viewer, *B_AT, BLUE, 5)  # an even number of tries: back where it began
    seen = measured_since(viewer, started)
    # A changed: green over red; B changed: yellow (red and green) over blue.
    states = [(shown["a"][1] > shown["a"][2], shown["b"][2] > shown["b"][0]) for shown in seen]
    halves = [shown for shown, (a_new, b_new) in zip(seen, states, strict=True)
              if a_new != b_new]
    assert halves == [], halves[:5]
    turns = sum(1 for before, after in zip(states, states[1:], strict=False) if before != after)
    assert turns == tries, states


def test_an_ease_in_out_tween_moves_through_the_frames(client: FlaskClient, render_workers,
                                                       nginx_rtmp, player) -> None:
    mover = add_layer(client, **box("mover", "#ffffff", 0, ROW - 20, 1, size=40))
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    wait_for_pixel(viewer, 20, ROW, WHITE, 10)
    started = time.monotonic()
    answer = client.patch(f"/stream/layers/{mover['id']}", json={
        "transform": {"x": 600}, "transition": {"durationMs": 1000, "easing": "easeInOut"}})
    assert answer.status_code == 200, answer.get_json()
    wait_for_pixel(viewer, 620, ROW, WHITE, 5)
    viewer.wait_for_frames(3, timeout=5, since=time.monotonic())
    edges = [shown["edge"] for shown in measured_since(viewer, started)]
    # The move: from the last frame at the start to the first at the end (H.264 blurs an
    # edge by a pixel or two).
    first = max(i for i, x in enumerate(edges) if x <= 2)
    last = next(i for i, x in enumerate(edges) if x >= 598)
    moving = edges[first:last + 1]
    assert len(moving) - 2 >= 25, edges
    assert all(later >= earlier - 2 for earlier, later in zip(moving, moving[1:],
                                                              strict=False)), moving
    # easeInOut covers 2 * 0.25² = 12.5% of the way in the first quarter of its time (linear:
    # 25%), and its fastest frames are in the middle.
    quarter = moving[len(moving) // 4]
    assert quarter < 0.2 * 600, moving
    steps = np.diff(moving)
    assert steps[:3].sum() < steps.max(), moving


def test_a_fade_between_two_scenes_blends_them(client: FlaskClient, render_workers, nginx_rtmp,
                                               player) -> None:
    full = {"x": 0, "y": 0, "width": 640, "height": 360}
    scenes = {name: post(client, "/stream/scenes", {"name": name, "layers": [
        {"name": name, "type": "color", "content": {"color": colour}, "transform": full}]})
        for name, colour in (("red", "#ff0000"), ("blue", "#0000ff"))}
    post(client, f"/stream/scenes/{scenes['red']['id']}/take", {})
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    wait_for_pixel(viewer, 320, 180, RED, 10)
    started = time.monotonic()
    post(client, f"/stream/scenes/{scenes['blue']['id']}/take",
         {"transition": {"type": "fade", "durationMs": 1000}})
    wait_for_pixel(viewer, 320, 180, BLUE, 5)
    centres = [shown["centre"] for shown in measured_since(viewer, started)]
    begin = max(i for i, (b, _, r) in enumerate(centres) if r > 230 and b < 25)
    end = next(i for i, (b, _, r) in enumerate(centres) if b > 230 and r < 25)
    assert end - begin >= 25, centres  # a second of frames between the two
    b, _, r = centres[(begin + end) // 2]
    assert 128 - 40 <= b <= 128 + 40 and 128 - 40 <= r <= 128 + 40, centres[begin:end + 1]
    blues = [b for b, _, _ in centres[begin:end + 1]]
    assert all(later >= earlier - 8 for earlier, later in zip(blues, blues[1:], strict=False))
