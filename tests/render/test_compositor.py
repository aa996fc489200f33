"""The compositor: placement, blending, order and the work it avoids, checked on frame pixels."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.layers import Layer, load_new_layer
from render.compositor import Compositor

WIDTH, HEIGHT = 320, 180
BLACK, WHITE = [0, 0, 0], [255, 255, 255]


def make_layer(kind: str, content: dict[str, Any], *, layer_id: str = "a", z: int = 0,
               visible: bool = True, opacity: float = 1.0, **transform: Any) -> Layer:
    """A stored layer, made the way the store makes it: through the project's schemas."""
    new = load_new_layer({
        "type": kind, "content": content, "visible": visible, "opacity": opacity,
        "transform": transform,
    })
    return Layer(id=layer_id, type=new.type, name=new.name, content=new.content,
                 visible=new.visible, opacity=new.opacity, transform=new.transform, z_index=z,
                 version=1, created_at=0, updated_at=0)


def with_transform(layer: Layer, **changes: Any) -> Layer:
    """`layer` with some transform fields changed (layers are immutable)."""
    return replace(layer, transform=replace(layer.transform, **changes))


def with_content(layer: Layer, **changes: Any) -> Layer:
    """`layer` with some content fields changed."""
    return replace(layer, content=replace(layer.content, **changes))


def color(hex_color: str, **kwargs: Any) -> Layer:
    """A colour layer."""
    return make_layer("color", {"color": hex_color}, **kwargs)


@pytest.fixture
def compositor(tmp_path: Path) -> Compositor:
    """A small compositor over an empty media folder."""
    return Compositor(WIDTH, HEIGHT, tmp_path)


def test_empty_scene_is_a_black_bgr_frame(compositor: Compositor) -> None:
    frame = compositor.compose([], [], 0.0)
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    assert not frame.any()


def test_colour_fills_its_box_in_bgr(compositor: Compositor) -> None:
    frame = compositor.compose([color("#ff8000", x=10, y=20, width=30, height=40)], [], 0.0)
    assert frame[20, 10].tolist() == [0, 128, 255]
    assert frame[59, 39].tolist() == [0, 128, 255]
    assert frame[19, 10].tolist() == BLACK and frame[20, 40].tolist() == BLACK
    assert frame[60, 10].tolist() == BLACK and frame[20, 9].tolist() == BLACK


def test_colour_without_a_size_covers_the_output(compositor: Compositor) -> None:
    frame = compositor.compose([color("#0000ff")], [], 0.0)
    assert (frame == [255, 0, 0]).all()


def test_colour_alpha_and_opacity_blend(compositor: Compositor) -> None:
    layers = [
        color("#ffffff", layer_id="white", z=0),
        color("#00000080", layer_id="half", z=1, width=50, height=50),
        color("#000000", layer_id="faded", z=2, opacity=0.5, x=100, width=50, height=50),
        color("#ff000080", layer_id="both", z=3, opacity=0.5, x=200, width=50, height=50),
    ]
    frame = compositor.compose(layers, [], 0.0).astype(int)
    assert np.abs(frame[10, 10] - 127).max() <= 1
    assert np.abs(frame[10, 110] - 127).max() <= 1
    # Red at alpha 0.5 * 0.5 over white: blue and green keep 3/4 of 255.
    assert np.abs(frame[10, 210] - [191, 191, 255]).max() <= 2


def test_later_layers_draw_on_top(compositor: Compositor) -> None:
    layers = [color("#ff0000", layer_id="low", z=0, width=50, height=50),
              color("#00ff00", layer_id="high", z=1, x=25, width=50, height=50)]
    frame = compositor.compose(layers, [], 0.0)
    assert frame[10, 10].tolist() == [0, 0, 255]
    assert frame[10, 30].tolist() == [0, 255, 0]


def test_invisible_layers_are_skipped(compositor: Compositor) -> None:
    frame = compositor.compose([color("#ffffff", visible=False)], [], 0.0)
    assert not frame.any()


@pytest.mark.parametrize(("x", "y", "inside", "outside"), [
    (-50, 10, (10, 49), (10, 50)),
    (WIDTH - 10, HEIGHT - 10, (HEIGHT - 1, WIDTH - 1), (HEIGHT - 11, WIDTH - 1)),
    (-16384, -16384, None, (0, 0)),
    (16384, 0, None, (0, WIDTH - 1)),
])
def test_boxes_off_the_frame_are_clipped(
    compositor: Compositor, x: int, y: int, inside: tuple[int, int] | None,
    outside: tuple[int, int],
) -> None:
    frame = compositor.compose([color("#ffffff", x=x, y=y, width=100, height=100)], [], 0.0)
    if inside is not None:
        assert frame[inside].tolist() == WHITE
    assert frame[outside].tolist() == BLACK


def test_scale_grows_the_box_from_its_top_left(compositor: Compositor) -> None:
    frame = compositor.compose(
        [color("#ffffff", x=10, y=10, width=40, height=20, scale=2.0)], [], 0.0)
    assert frame[10, 10].tolist() == WHITE and frame[49, 89].tolist() == WHITE
    assert frame[50, 89].tolist() == BLACK and frame[49, 90].tolist() == BLACK


def test_rotation_by_90_degrees_stands_a_bar_up_about_its_centre(compositor: Compositor) -> None:
    # A 100x20 bar centred on (150, 110) becomes 20x100, still centred there.
    frame = compositor.compose(
        [color("#ffffff", x=100, y=100, width=100, height=20, rotation=90)], [], 0.0)
    assert frame[65, 150].tolist() == WHITE and frame[155, 145].tolist() == WHITE
    assert frame[110, 105].tolist() == BLACK and frame[110, 195].tolist() == BLACK
    assert frame[55, 150].tolist() == BLACK and frame[110, 165].tolist() == BLACK


def test_rotation_is_clockwise_on_screen(compositor: Compositor) -> None:
    # Clockwise, the right end of a bar centred on (150, 90) goes down and the left end up.
    frame = compositor.compose(
        [color("#ffffff", x=100, y=85, width=100, height=10, rotation=30)], [], 0.0)
    assert frame[90 + 20, 150 + 35].tolist() == WHITE
    assert frame[90 - 20, 150 - 35].tolist() == WHITE
    assert frame[90 - 20, 150 + 35].tolist() == BLACK
    assert frame[90, 150].tolist() == WHITE


def test_nothing_changed_returns_the_same_frame_object(compositor: Compositor) -> None:
    layers = [color("#ffffff", width=10, height=10)]
    first = compositor.compose(layers, [], 0.0)
    assert compositor.compose(layers, [], 0.5) is first
    layers[0] = with_transform(layers[0], x=5)
    assert compositor.compose(layers, [], 1.0) is not first


def test_a_returned_frame_is_never_changed_afterwards(compositor: Compositor) -> None:
    layers = [color("#ff0000", layer_id="bottom"),
              color("#00ff00", layer_id="top", z=1, width=10, height=10)]
    first = compositor.compose(layers, [], 0.0)
    kept = first.copy()
    for x in (20, 40):
        layers[1] = with_transform(layers[1], x=x)
        compositor.compose(layers, [], 0.0)
    layers[0] = with_content(layers[0], color="#0000ff")
    compositor.compose(layers, [], 0.0)
    assert np.array_equal(first, kept)


def test_moving_a_layer_reuses_its_tile(compositor: Compositor) -> None:
    layers = [color("#ffffff", width=10, height=10)]
    compositor.compose(layers, [], 0.0)
    assert compositor.raster_counts == {"color": 1}
    layers[0] = with_transform(layers[0], x=50, y=60)
    frame = compositor.compose(layers, [], 0.0)
    assert frame[60, 50].tolist() == WHITE and frame[0, 0].tolist() == BLACK
    assert compositor.raster_counts == {"color": 1}
    assert set(compositor.raster_seconds) == {layers[0].id}
    # Fading or turning it makes its tile again from the cached raster (a tween's frames).
    layers[0] = replace(layers[0], opacity=0.5)
    assert compositor.compose(layers, [], 0.0)[60, 50].tolist() == [128, 128, 128]
    layers[0] = with_transform(layers[0], rotation=90)
    compositor.compose(layers, [], 0.0)
    assert compositor.raster_counts == {"color": 1}
    layers[0] = with_transform(layers[0], width=20)
    compositor.compose(layers, [], 0.0)
    assert compositor.raster_counts == {"color": 2}


def test_deleted_layers_lose_their_tile(compositor: Compositor) -> None:
    layer = color("#ffffff", width=10, height=10)
    compositor.compose([layer], [], 0.0)
    assert not compositor.compose([], [], 0.0).any()
    compositor.compose([layer], [], 0.0)
    assert compositor.raster_counts == {"color": 2}


def test_hidden_layers_keep_their_tile(compositor: Compositor) -> None:
    layer = color("#ffffff", width=10, height=10)
    compositor.compose([layer], [], 0.0)
    layer = replace(layer, visible=False)
    compositor.compose([layer], [], 0.0)
    layer = replace(layer, visible=True)
    compositor.compose([layer], [], 0.0)
    assert compositor.raster_counts == {"color": 1}


def test_a_layer_too_large_to_draw_is_reported_not_raised(compositor: Compositor) -> None:
    layers = [color("#ffffff", layer_id="huge", width=16384, height=16384, scale=20.0),
              color("#ff0000", layer_id="fine", width=10, height=10)]
    frame = compositor.compose(layers, [], 0.0)
    assert "too large" in compositor.errors["huge"]
    assert "fine" not in compositor.errors
    assert frame[5, 5].tolist() == [0, 0, 255]


def test_incremental_frames_match_fresh_ones(tmp_path: Path) -> None:
    """Damage tracking never shows anything but what a full recomposite would."""
    rng = random.Random(7)
    layers = [
        color(f"#{rng.randrange(1 << 24):06x}{rng.choice(['', '80'])}", layer_id=f"l{i}", z=i,
              x=rng.randrange(-20, WIDTH), y=rng.randrange(-20, HEIGHT),
              width=rng.randrange(10, 120), height=rng.randrange(10, 120))
        for i in range(6)
    ]
    layers.insert(0, color("#404040", layer_id="bg", z=-1))
    compositor = Compositor(WIDTH, HEIGHT, tmp_path)
    for _ in range(40):
        index = rng.randrange(len(layers))
        layer = layers[index]
        change = rng.choice(["move", "hide", "recolour", "raise"])
        if change == "move":
            layers[index] = with_transform(layer, x=rng.randrange(-20, WIDTH))
        elif change == "hide":
            layers[index] = replace(layer, visible=not layer.visible)
        elif change == "recolour":
            layers[index] = with_content(layer, color=f"#{rng.randrange(1 << 24):06x}")
        else:
            layers.remove(layer)
            layers.append(layer)
        incremental = compositor.compose(layers, [], 0.0)
        fresh = Compositor(WIDTH, HEIGHT, tmp_path).compose(layers, [], 0.0)
        assert np.array_equal(incremental, fresh), change
