"""Show control on the render side: tweens, batches on one frame, deferred changes, and scene
takes that fade or wipe, with the real scene, tweens, compositor and transition, frames
sampled on a 30 fps clock and read back as pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from core import events
from core.layers import load_layer
from core.store import StoredEvent
from render.compositor import Compositor
from render.scene import Scene
from render.transition import TakeTransition

WIDTH, HEIGHT, FPS = 720, 60, 30
T0 = 1_700_000_000.0  # the render clock's epoch seconds at the first frame of each test
LINEAR = {"durationMs": 1000, "easing": "linear"}


def layer(layer_id: str, version: int = 1, z: int = 0, color: str = "#ffffff",
          kind: str = "color", content: dict[str, Any] | None = None,
          **fields: Any) -> dict[str, Any]:
    """A layer's wire form, as events carry it: a 100x40 box at (0, 10) by default."""
    transform = {"x": 0, "y": 10, "width": 100, "height": 40, "scale": 1.0, "rotation": 0.0,
                 **fields.pop("transform", {})}
    return {"id": layer_id, "name": layer_id, "type": kind, "visible": True, "zIndex": z,
            "opacity": 1.0, "transform": transform,
            "content": content if content is not None else {"color": color},
            "version": version, "createdAt": 1, "updatedAt": 1, **fields}


def event(kind: str, data: dict[str, Any]) -> StoredEvent:
    return StoredEvent("1-0", kind, data)


def batch(*entries: tuple[str, dict[str, Any]], **extra: Any) -> StoredEvent:
    return event(events.LAYERS_BATCH, {"events": [{"type": kind, "data": data}
                                                  for kind, data in entries], **extra})


def at(frame: int) -> float:
    """The instant of frame `frame` on the 30 fps clock."""
    return T0 + frame / FPS


def scene_of(*layers: dict[str, Any]) -> Scene:
    scene = Scene()
    for data in layers:
        scene.apply(event(events.LAYER_CREATED, data))
    return scene


@pytest.fixture
def compositor(tmp_path: Path) -> Compositor:
    return Compositor(WIDTH, HEIGHT, tmp_path)


def draw(scene: Scene, compositor: Compositor, frame: int) -> np.ndarray:
    instant = at(frame)
    scene.advance(instant)
    return compositor.compose(scene.on_air(instant), [], instant)


def left_edge(frame: np.ndarray) -> int:
    """Where the white box begins on the row through it (-1: not drawn)."""
    lit = np.flatnonzero(frame[30, :, 0] > 127)
    return int(lit[0]) if len(lit) else -1


def test_an_ease_in_out_move_goes_through_every_frame_monotonic_and_starts_slow(
        compositor: Compositor) -> None:
    scene = scene_of(layer("box"))
    draw(scene, compositor, 0)
    scene.apply(event(events.LAYER_UPDATED, layer(
        "box", version=2, transform={"x": 600},
        transition={"durationMs": 1000, "easing": "easeInOut"})))
    # The store holds the new value at once; the picture moves from frame 1 on.
    assert scene.layers()[0].transform.x == 600
    positions = [left_edge(draw(scene, compositor, frame)) for frame in range(1, 33)]
    between = [x for x in positions if 0 < x < 600]
    assert len(between) >= 25, positions
    assert positions == sorted(positions) and positions[0] == 0 and positions[-1] == 600
    steps = np.diff(positions)
    assert steps[:3].max() < steps[13:17].min() / 3, positions  # slow in, fast in the middle
    assert compositor.raster_counts == {"color": 1}  # a move re-places the tile


def test_colour_and_opacity_tweens_draw_the_colours_between(compositor: Compositor) -> None:
    scene = scene_of(layer("paint", color="#ff0000"),
                     layer("veil", z=1, color="#ffffff", opacity=0.0,
                           transform={"x": 200, "width": 100}))
    draw(scene, compositor, 0)
    scene.apply(batch((events.LAYER_UPDATED, layer("paint", version=2, color="#0000ff80")),
                      (events.LAYER_UPDATED, layer("veil", version=2, z=1, opacity=1.0,
                                                   transform={"x": 200, "width": 100})),
                      transition=LINEAR))
    pictures = [draw(scene, compositor, frame) for frame in range(1, 32)]
    middle, end = pictures[15].astype(int), pictures[-1]
    # Red to blue at half alpha, half way, each channel and alpha: #800080c0 over black.
    assert np.abs(middle[30, 50] - [96, 0, 96]).max() <= 1, middle[30, 50]
    assert np.abs(middle[30, 250] - [127, 127, 127]).max() <= 3, middle[30, 250]
    assert end[30, 50].tolist() == [128, 0, 0] and end[30, 250].tolist() == [255, 255, 255]
    # The fade made the veil's tile again from its raster; only the paint was drawn anew.
    assert compositor.raster_counts["color"] == 2 + 31


def test_an_opacity_tween_never_rasterises_again(tmp_path: Path) -> None:
    compositor = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p")
    text = {"text": "On air", "fontSize": 30, "color": "#ffffff"}
    scene = scene_of(layer("title", kind="text", content=text, opacity=0.0))
    draw(scene, compositor, 0)
    scene.apply(event(events.LAYER_UPDATED, layer(
        "title", version=2, kind="text", content=text, opacity=1.0,
        transform={"rotation": 20.0}, transition=LINEAR)))
    frames = {draw(scene, compositor, frame).tobytes() for frame in range(1, 32)}
    assert len(frames) >= 25
    assert compositor.raster_counts == {"text": 1}


def test_a_change_during_a_tween_starts_from_what_is_on_air(compositor: Compositor) -> None:
    scene = scene_of(layer("box"))
    scene.apply(event(events.LAYER_UPDATED, layer("box", version=2, transform={"x": 600},
                                                  transition=LINEAR)))
    for frame in range(16):
        shown = left_edge(draw(scene, compositor, frame))
    assert shown == 300
    scene.apply(event(events.LAYER_UPDATED, layer("box", version=3, transform={"x": 0},
                                                  transition=LINEAR)))
    back = [left_edge(draw(scene, compositor, frame)) for frame in range(16, 48)]
    assert back[0] == 300 and back[15] == 150 and back[-1] == 0, back
    assert back == sorted(back, reverse=True)
    # A cut during a tween: what it sets snaps, what it leaves keeps moving.
    scene.apply(event(events.LAYER_UPDATED, layer("box", version=4, transform={"x": 600},
                                                  transition=LINEAR)))
    draw(scene, compositor, 48)
    scene.apply(event(events.LAYER_UPDATED, layer("box", version=5, color="#ff0000",
                                                  transform={"x": 600})))
    moving = draw(scene, compositor, 64)  # 16 frames into the last tween: x = 320
    red = np.flatnonzero(moving[30, :, 2] > 127)
    assert left_edge(moving) == -1 and red[0] == 320


def test_hidden_and_deleted_with_a_transition_fade_out_then_go(
        compositor: Compositor) -> None:
    scene = scene_of(layer("gone"), layer("hidden", z=1, transform={"x": 300}))
    draw(scene, compositor, 0)
    scene.apply(event(events.LAYER_DELETED, {"id": "gone", "version": 2,
                                             "transition": LINEAR}))
    scene.apply(event(events.LAYER_VISIBILITY, layer("hidden", version=2, z=1, visible=False,
                                                     transform={"x": 300},
                                                     transition=LINEAR)))
    assert [entry.id for entry in scene.layers()] == ["hidden"]
    levels = []
    for frame in range(1, 32):
        picture = draw(scene, compositor, frame)
        levels.append((int(picture[30, 50, 0]), int(picture[30, 350, 0])))
        on_air = scene.on_air(at(frame))
        assert [entry.id for entry in on_air] == (["gone", "hidden"] if frame < 31
                                                  else ["hidden"])
    assert levels[0] == (255, 255) and levels[15] == (128, 128) and levels[-1] == (0, 0)
    assert [gone for gone, _ in levels] == sorted((gone for gone, _ in levels), reverse=True)
    assert not scene.on_air(at(40))[0].visible


def test_created_and_shown_with_a_transition_fade_in_with_their_sound(
        compositor: Compositor) -> None:
    video = {"source": "clip.mp4", "volume": 2.0}
    scene = scene_of(layer("shy", visible=False))
    scene.apply(event(events.LAYER_CREATED, layer("clip", z=1, kind="video", content=video,
                                                  transition=LINEAR)))
    scene.apply(event(events.LAYER_VISIBILITY, layer("shy", version=2, transition=LINEAR)))
    scene.on_air(at(0))
    half = {entry.id: entry for entry in scene.on_air(at(15))}
    assert half["clip"].opacity == pytest.approx(0.5)
    assert half["clip"].content.volume == pytest.approx(1.0)  # type: ignore[attr-defined]
    assert half["shy"].visible and half["shy"].opacity == pytest.approx(0.5)
    done = {entry.id: entry for entry in scene.on_air(at(30))}
    assert done["clip"].content.volume == 2.0  # type: ignore[attr-defined]


def test_a_batch_lands_whole_on_one_frame(compositor: Compositor) -> None:
    scene = scene_of(layer("a", color="#ff0000"), layer("b", z=1, color="#0000ff",
                                                        transform={"x": 300}))
    before = draw(scene, compositor, 0)
    assert before[30, 50].tolist() == [0, 0, 255] and before[30, 350].tolist() == [255, 0, 0]
    scene.apply(batch((events.LAYER_UPDATED, layer("a", version=2, color="#00ff00")),
                      (events.LAYER_UPDATED, {"id": "broken", "type": "nope"}),
                      (events.LAYER_UPDATED, layer("b", version=2, z=1, color="#ffff00",
                                                   transform={"x": 300}))))
    after = draw(scene, compositor, 1)
    # A bad entry is logged and skipped; the rest of the batch still lands on this frame.
    assert after[30, 50].tolist() == [0, 255, 0] and after[30, 350].tolist() == [0, 255, 255]


def test_a_deferred_change_lands_on_the_first_frame_at_or_after_its_time(
        compositor: Compositor) -> None:
    scene = scene_of(layer("box"))
    effective = at(10) - 0.010  # 10 ms before frame 10's instant
    scene.apply(event(events.LAYER_UPDATED, layer(
        "box", version=2, transform={"x": 600}, transition=LINEAR,
        effectiveAt=round(effective * 1000))))
    scene.apply(batch((events.LAYER_UPDATED, layer("box", version=3, color="#ff0000",
                                                   transform={"x": 600})),
                      effectiveAt=round(at(40) * 1000)))
    assert scene.next_due == pytest.approx(effective)
    shown = [left_edge(draw(scene, compositor, frame)) for frame in range(10)]
    assert shown == [0] * 10
    # The tween starts at effectiveAt, not at the frame that applied it.
    assert left_edge(draw(scene, compositor, 10)) == round(600 * 0.010)
    assert left_edge(draw(scene, compositor, 25)) == round(600 * (15 / FPS + 0.010))
    # A full read meanwhile holds the change already (the store committed it ahead): the
    # scene keeps it back until its time all the same.
    scene.apply(batch((events.LAYER_CREATED, layer("early", z=1, transform={"x": 300})),
                      effectiveAt=round(at(40) * 1000)))
    scene.replace({"state": "live", "version": 1, "startTime": 1, "updatedAt": 1},
                  [load_layer(layer("box", version=3, color="#ff0000",
                                    transform={"x": 600})),
                   load_layer(layer("early", version=1, z=1, transform={"x": 300}))], [])
    assert draw(scene, compositor, 39)[30, 600].tolist() == [255, 255, 255]
    assert [entry.id for entry in scene.layers()] == ["box"]
    assert draw(scene, compositor, 40)[30, 600].tolist() == [0, 0, 255]
    assert [entry.id for entry in scene.layers()] == ["box", "early"]
    assert scene.next_due is None


def take_scene(kind: str) -> Scene:
    """A red program; then a take (at frame 1) that deletes it and brings in a blue one."""
    scene = scene_of(layer("red", color="#ff0000", transform={"width": None, "height": None}))
    scene.on_air(at(0))
    scene.apply(batch(
        (events.LAYER_DELETED, {"id": "red", "version": 2}),
        (events.LAYER_CREATED, layer("blue", color="#0000ff",
                                     transform={"width": None, "height": None})),
        take={"sceneId": "s", "name": "blue", "type": kind, "durationMs": 1000}))
    return scene


def run_take(scene: Scene, compositor: Compositor, media: Path,
             frames: range) -> list[np.ndarray]:
    """Frames of the program through a TakeTransition, as the renderer makes them, in BGR."""
    transition = TakeTransition(WIDTH, HEIGHT, media, compositor.sources, "yuv420p")
    pictures = []
    for frame in frames:
        instant = at(frame)
        take = scene.pop_take()
        if take is not None:
            transition.begin(take, compositor)
        layers = scene.on_air(instant)
        picture = transition.compose(compositor, layers, [], instant)
        pictures.append(cv2.cvtColor(picture, cv2.COLOR_YUV2BGR_I420).astype(int))
    return pictures


def test_a_fade_take_blends_the_outgoing_and_incoming_programs(tmp_path: Path) -> None:
    compositor = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p")
    scene = take_scene("fade")
    compositor.compose(scene.on_air(at(0)), [], at(0))
    first, middle, last = run_take(scene, compositor, tmp_path, range(1, 32))[::15]
    assert np.abs(first[30, 360] - [0, 0, 255]).max() <= 3
    assert np.abs(middle[30, 360] - [127, 0, 128]).max() <= 4, middle[30, 360]
    assert np.abs(last[30, 360] - [255, 0, 0]).max() <= 3


def test_a_wipe_take_moves_a_vertical_edge_left_to_right(tmp_path: Path) -> None:
    compositor = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p")
    scene = take_scene("wipe")
    compositor.compose(scene.on_air(at(0)), [], at(0))
    pictures = run_take(scene, compositor, tmp_path, range(1, 32))
    middle = pictures[15]  # p = 0.5: the edge at x = 360
    assert np.abs(middle[30, 356] - [255, 0, 0]).max() <= 3
    assert np.abs(middle[30, 364] - [0, 0, 255]).max() <= 3
    edges = [int(np.flatnonzero(picture[30, :, 2] > 127)[0]) if (picture[30, :, 2] > 127).any()
             else WIDTH for picture in pictures]
    assert edges == sorted(edges) and edges[0] == 0 and edges[-1] == WIDTH


def test_the_mixer_hears_both_programs_during_a_take(tmp_path: Path) -> None:
    compositor = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p")
    music = {"source": "music.mp4", "volume": 1.0}
    scene = scene_of(layer("kept", kind="video", content=music),
                     layer("old", z=1, kind="video", content=music))
    scene.on_air(at(0))
    scene.apply(batch((events.LAYER_DELETED, {"id": "old", "version": 2}),
                      (events.LAYER_CREATED, layer("new", z=1, kind="video", content=music)),
                      take={"sceneId": "s", "name": "n", "type": "fade", "durationMs": 1000}))
    transition = TakeTransition(WIDTH, HEIGHT, tmp_path, compositor.sources, "yuv420p")
    transition.begin(scene.pop_take(), compositor)  # type: ignore[arg-type]
    transition.progress(at(1))
    heard = {entry.id: entry.content.volume  # type: ignore[attr-defined]
             for entry in transition.heard(scene.on_air(at(16)), at(16))}
    assert heard == pytest.approx({"kept": 1.0, "new": 0.5, "old": 0.5})
