"""Image layers: natural size, stretching, alpha, and what a missing or bad file shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from render.compositor import Compositor
from tests.render.test_compositor import BLACK, HEIGHT, WIDTH, make_layer, with_content

RED, GREEN, BLUE, WHITE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255,) * 4
GREY, MAGENTA = [40, 40, 40], [255, 0, 255]


def write_png(path: Path, pixels: list[list[tuple[int, int, int, int]]]) -> None:
    """A small RGBA PNG from rows of pixels."""
    Image.fromarray(np.array(pixels, np.uint8), "RGBA").save(path)


@pytest.fixture
def compositor(tmp_path: Path) -> Compositor:
    """A compositor whose media root is tmp_path/media."""
    (tmp_path / "media").mkdir()
    return Compositor(WIDTH, HEIGHT, tmp_path / "media")


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """The compositor's media root."""
    return tmp_path / "media"


def image(source: str, **kwargs: object) -> dict:
    """An image layer."""
    return make_layer("image", {"source": source}, **kwargs)


def test_natural_size_is_the_pixel_size(compositor: Compositor, media: Path) -> None:
    write_png(media / "red.png", [[RED] * 4] * 3)
    frame = compositor.compose([image("red.png", x=10, y=20)], [], 0.0)
    assert frame[20, 10].tolist() == [0, 0, 255] and frame[22, 13].tolist() == [0, 0, 255]
    assert frame[23, 10].tolist() == BLACK and frame[20, 14].tolist() == BLACK
    assert compositor.errors == {}


def test_a_box_stretches_the_image(compositor: Compositor, media: Path) -> None:
    write_png(media / "quad.png", [[RED, GREEN], [BLUE, WHITE]])
    frame = compositor.compose([image("quad.png", width=80, height=40)], [], 0.0)
    assert frame[5, 5].tolist() == [0, 0, 255] and frame[5, 75].tolist() == [0, 255, 0]
    assert frame[35, 5].tolist() == [255, 0, 0] and frame[35, 75].tolist() == [255, 255, 255]
    assert frame[40, 5].tolist() == BLACK and frame[5, 80].tolist() == BLACK


def test_one_side_keeps_the_aspect_ratio(compositor: Compositor, media: Path) -> None:
    write_png(media / "wide.png", [[WHITE] * 4] * 2)
    frame = compositor.compose([image("wide.png", width=40)], [], 0.0)
    assert frame[19, 39].tolist() == [255, 255, 255] and frame[20, 0].tolist() == BLACK


def test_image_alpha_and_opacity_blend(compositor: Compositor, media: Path) -> None:
    write_png(media / "half.png", [[(255, 255, 255, 128)] * 2] * 2)
    layers = [image("half.png", layer_id="alpha"),
              image("half.png", layer_id="faded", opacity=0.5, x=10)]
    frame = compositor.compose(layers, [], 0.0).astype(int)
    assert np.abs(frame[0, 0] - 128).max() <= 1
    assert np.abs(frame[0, 10] - 64).max() <= 1


def assert_placeholder(frame: np.ndarray, x: int, y: int, width: int, height: int) -> None:
    """A grey tile with a magenta frame and cross at x, y of the given size."""
    assert frame[y + height // 2, x + width // 2].tolist() == MAGENTA
    assert frame[y, x + width // 4].tolist() == MAGENTA
    assert frame[y + height - 10, x + width // 2].tolist() == GREY
    if y + height < frame.shape[0]:
        assert frame[y + height, x + width // 2].tolist() == BLACK


def test_missing_image_shows_a_placeholder_and_an_error(compositor: Compositor) -> None:
    frame = compositor.compose([image("logo.png", layer_id="logo", x=-10)], [], 0.0)
    assert_placeholder(frame, -10, 0, 320, 180)
    assert compositor.errors == {"logo": "image 'logo.png' not found"}
    frame = compositor.compose([image("logo.png", layer_id="logo", width=100, height=50)],
                               [], 0.0)
    assert_placeholder(frame, 0, 0, 100, 50)


def test_paths_escaping_the_media_root_count_as_missing(
    compositor: Compositor, media: Path, tmp_path: Path,
) -> None:
    write_png(tmp_path / "x.png", [[RED]])
    (media / "link.png").symlink_to(tmp_path / "x.png")
    dotted = image("x.png", layer_id="dotted", width=100, height=50)
    dotted = with_content(dotted, source="../x.png")  # the schema refuses it; so must the renderer
    linked = image("link.png", layer_id="linked", y=60, width=100, height=50)
    frame = compositor.compose([dotted, linked], [], 0.0)
    assert_placeholder(frame, 0, 0, 100, 50)
    assert_placeholder(frame, 0, 60, 100, 50)
    assert "refused" in compositor.errors["dotted"]
    assert "refused" in compositor.errors["linked"]


def test_undecodable_image_shows_a_placeholder(compositor: Compositor, media: Path) -> None:
    (media / "broken.png").write_bytes(b"not a png at all")
    frame = compositor.compose([image("broken.png", layer_id="b", width=100, height=50)],
                               [], 0.0)
    assert_placeholder(frame, 0, 0, 100, 50)
    assert "could not be decoded" in compositor.errors["b"]


def test_a_missing_image_heals_once_uploaded(compositor: Compositor, media: Path) -> None:
    layers = [image("late.png", layer_id="late", width=100, height=50)]
    compositor.compose(layers, [], 1000.0)
    write_png(media / "late.png", [[GREEN]])
    frame = compositor.compose(layers, [], 1000.5)
    assert_placeholder(frame, 0, 0, 100, 50)
    frame = compositor.compose(layers, [], 1001.1)
    assert frame[25, 50].tolist() == [0, 255, 0]
    assert compositor.errors == {}


def test_a_replaced_image_is_redrawn(compositor: Compositor, media: Path) -> None:
    write_png(media / "swap.png", [[RED]])
    layers = [image("swap.png", width=10, height=10)]
    compositor.compose(layers, [], 1000.0)
    write_png(media / "swap.png", [[GREEN, GREEN]])
    frame = compositor.compose(layers, [], 1001.5)
    assert frame[5, 5].tolist() == [0, 255, 0]


def test_rotated_image_keeps_its_centre(compositor: Compositor, media: Path) -> None:
    write_png(media / "bar.png", [[WHITE] * 10])
    frame = compositor.compose(
        [image("bar.png", x=100, y=100, width=100, height=20, rotation=-90)], [], 0.0)
    assert frame[65, 150].tolist() == [255, 255, 255]
    assert frame[110, 105].tolist() == BLACK
