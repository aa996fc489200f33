"""Compositing in YUV 4:2:0, as the render worker does: the same pictures as in BGR at even and
odd places, video pictures taken as their source process hands them over (I420), and frames
the encoder takes as they are."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.layers import Layer, load_layer
from render.compositor import Compositor
from render.encoder import Encoder
from render.layers.placement import make_tile
from render.layers.planar import blend_planar, fill_black, i420_planes, new_frame
from tests.render.test_compositor import HEIGHT, WIDTH, color, make_layer
from tests.render.test_encoder import decode_video
from tests.support.clips import picture_number, write_clip
from tests.support.processes import wait_until


def both(media: Path, layers: list[Layer]) -> tuple[np.ndarray, np.ndarray]:
    """The frame of `layers` composited in BGR, and in I420 converted to BGR."""
    bgr = Compositor(WIDTH, HEIGHT, media).compose(layers, [], 0.0)
    i420 = Compositor(WIDTH, HEIGHT, media, frame_format="yuv420p").compose(layers, [], 0.0)
    assert i420.shape == (HEIGHT * 3 // 2, WIDTH)
    return bgr.astype(int), cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420).astype(int)


def alpha_image(media: Path) -> str:
    """A 41x23 image: a colour gradient whose alpha runs from 0 to 255 across it."""
    columns = np.linspace(0, 255, 41).astype(np.uint8)
    rgba = np.zeros((23, 41, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = columns, 200, 255 - columns, columns
    Image.fromarray(rgba, "RGBA").save(media / "fade.png")
    return "fade.png"


def test_an_empty_scene_is_black_in_yuv(tmp_path: Path) -> None:
    frame = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p").compose([], [], 0.0)
    y, u, v = i420_planes(frame)
    assert (y == 16).all() and (u == 128).all() and (v == 128).all()


def test_flat_colours_match_bgr_at_even_and_odd_places(tmp_path: Path) -> None:
    layers = [
        color("#ffffff", layer_id="white", z=0),
        color("#ff8000", layer_id="orange", z=1, x=10, y=20, width=30, height=40),
        color("#00000080", layer_id="half", z=2, x=41, y=13, width=31, height=27),
        color("#2040ff", layer_id="faded", z=3, opacity=0.6, x=-3, y=101, width=55, height=33),
        color("#00ff00", layer_id="edge", z=4, x=WIDTH - 7, y=HEIGHT - 9, width=20, height=20),
    ]
    bgr, yuv = both(tmp_path, layers)
    # Inside each block, away from its edges (where 4:2:0 shares chroma with the neighbours).
    for y, x in ((40, 25), (26, 56), (117, 20), (HEIGHT - 4, WIDTH - 4), (150, 200)):
        assert np.abs(bgr[y, x] - yuv[y, x]).max() <= 3, (y, x, bgr[y, x], yuv[y, x])


def test_luma_matches_bgr_everywhere(tmp_path: Path) -> None:
    """Y is per pixel, so even edges, alpha ramps, scaling and rotation agree to 2 levels."""
    source = alpha_image(tmp_path)
    layers = [
        color("#204060", layer_id="ground", z=0),
        make_layer("image", {"source": source}, layer_id="ramp", z=1, x=17, y=9),
        make_layer("image", {"source": source}, layer_id="turned", z=2, x=120, y=51,
                   scale=1.7, rotation=15, opacity=0.8),
        make_layer("text", {"text": "Hello", "fontSize": 30, "color": "#ffff00"},
                   layer_id="text", z=3, x=181, y=119),
    ]
    bgr = Compositor(WIDTH, HEIGHT, tmp_path).compose(layers, [], 0.0)
    i420 = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p").compose(layers, [], 0.0)
    expected = i420_planes(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420))[0].astype(int)
    assert np.abs(i420_planes(i420)[0].astype(int) - expected).max() <= 2


def test_an_i420_picture_is_blended_as_it_is_and_at_odd_places_too() -> None:
    rows, columns = np.mgrid[0:60, 0:80]
    bgr = np.dstack([columns * 3, rows * 4, 255 - columns * 2]).astype(np.uint8)
    picture = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    tile = make_tile(picture, 1.0, 0.0)
    assert tile.i420 and (tile.width, tile.height) == (80, 60)
    frame = fill_black(new_frame(WIDTH, HEIGHT))
    blend_planar(frame, tile, 100, 40)
    for shown, own, (x, y, w, h) in zip(i420_planes(frame), i420_planes(picture),
                                        ((100, 40, 80, 60), (50, 20, 40, 30), (50, 20, 40, 30)),
                                        strict=True):
        assert (shown[y:y + h, x:x + w] == own).all()
    odd = fill_black(new_frame(WIDTH, HEIGHT))
    blend_planar(odd, tile, 101, 41)
    luma = i420_planes(odd)[0].astype(int)
    own_luma = i420_planes(picture)[0].astype(int)
    # Through BGR and back (the colour conversion rounds twice): luma within 2 levels.
    assert np.abs(luma[41:101, 101:181] - own_luma).max() <= 2


@pytest.fixture
def yuv_compositor(tmp_path: Path) -> Iterator[Compositor]:
    made = Compositor(WIDTH, HEIGHT, tmp_path, frame_format="yuv420p")
    yield made
    made.close()


@pytest.mark.parametrize("box", [(WIDTH, HEIGHT), (161, 91)])
def test_a_video_plays_from_its_source_into_a_yuv_frame(
        tmp_path: Path, yuv_compositor: Compositor, box: tuple[int, int]) -> None:
    """At the program's size the source hands I420 over; at an odd size, BGR: both show."""
    clip = write_clip(tmp_path / "numbered.mp4", fps=30, seconds=3)
    now = int(time.time() * 1000)
    video = load_layer({
        "id": "video-1", "type": "video", "name": "clip", "visible": True, "zIndex": 0,
        "opacity": 1.0, "transform": {"x": 0, "y": 0, "width": box[0], "height": box[1]},
        "content": {"source": clip.path.name}, "version": 1, "createdAt": now,
        "updatedAt": now, "playback": {"state": "playing", "position": 0.0, "since": now}})
    numbers: list[int] = []

    def playing() -> bool:
        frame = yuv_compositor.compose([video], [], time.time())
        assert frame.ndim == 2
        picture = cv2.cvtColor(frame, cv2.COLOR_YUV2BGR_I420)[:box[1], :box[0]]
        numbers.append(picture_number(cv2.resize(picture, (WIDTH, HEIGHT))))
        return numbers[-1] >= 30

    wait_until(playing, 10, "the video playing past its first second", interval=1 / 30)
    assert numbers == sorted(numbers)


def test_the_encoder_takes_i420_frames_as_they_are() -> None:
    encoder = Encoder(WIDTH, HEIGHT, 30, 800_000, 96_000)
    frame = fill_black(new_frame(WIDTH, HEIGHT))
    blend_planar(frame, make_tile(np.full((HEIGHT, WIDTH, 3), (0, 0, 255), np.uint8), 1.0, 0),
                 0, 0)
    packets = [p for slot in range(10) for p in encoder.encode(frame, slot)]
    frames = decode_video(packets + encoder.flush())
    assert len(frames) == 10
    assert frames[-1].to_ndarray(format="bgr24")[90, 160].tolist() == pytest.approx(
        [0, 0, 255], abs=10)
