"""Text, clock and chat layers: where their pixels land and when they are drawn again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from render.compositor import Compositor
from tests.render.test_compositor import HEIGHT, WIDTH, make_layer

GREEN = [0, 255, 0]
NOON = time.mktime((2024, 5, 17, 12, 0, 0, 0, 0, -1))


@pytest.fixture
def compositor(tmp_path: Path) -> Compositor:
    """A small compositor."""
    return Compositor(WIDTH, HEIGHT, tmp_path)


def coloured(frame: np.ndarray, bgr: list[int]) -> np.ndarray:
    """Mask of the pixels that are exactly `bgr`."""
    return (frame == bgr).all(axis=2)


def drawn_rows(frame: np.ndarray) -> np.ndarray:
    """Indices of rows with any drawn pixel."""
    return np.flatnonzero(frame.any(axis=(1, 2)))


def text(value: str, **kwargs: Any) -> dict[str, Any]:
    """A green text layer."""
    return make_layer("text", {"text": value, "fontSize": 24, "color": "#00ff00"}, **kwargs)


def chat_message(number: int, message: str = "hello there") -> dict[str, Any]:
    """A chat message as the store keeps it."""
    return {"id": str(number), "author": f"user{number}", "message": message,
            "createdAt": number}


def test_text_draws_its_colour_inside_its_box_only(compositor: Compositor) -> None:
    layer = text("Hello stream, this is far too long", x=20, y=30, width=120, height=20)
    frame = compositor.compose([layer], [], 0.0)
    assert coloured(frame, GREEN)[30:50, 20:140].sum() > 50
    outside = frame.copy()
    outside[30:50, 20:140] = 0
    assert not outside.any()


def test_text_at_natural_size_spans_its_lines(compositor: Compositor) -> None:
    one = compositor.compose([text("Hi", x=10, y=10)], [], 0.0)
    rows_one = drawn_rows(one)
    two = compositor.compose([text("Hi\nthere", x=10, y=10)], [], 0.0)
    rows_two = drawn_rows(two)
    assert coloured(one, GREEN).any()
    assert rows_one.min() >= 10 and rows_two.max() > rows_one.max() + 15


def test_scaled_text_is_larger(compositor: Compositor) -> None:
    small = compositor.compose([text("Hi")], [], 0.0)
    large = compositor.compose([text("Hi", scale=2.0)], [], 0.0)
    assert coloured(large, GREEN).sum() > 3 * coloured(small, GREEN).sum()


def clock(fmt: str = "%H:%M:%S", **kwargs: Any) -> dict[str, Any]:
    """A green clock layer."""
    return make_layer("clock", {"format": fmt, "fontSize": 24, "color": "#00ff00"}, **kwargs)


def test_clock_redraws_only_when_its_text_changes(compositor: Compositor) -> None:
    layers = [clock(x=5, y=5)]
    first = compositor.compose(layers, [], NOON)
    assert coloured(first, GREEN).any()
    assert compositor.compose(layers, [], NOON + 0.5) is first
    assert compositor.raster_counts == {"clock": 1}
    second = compositor.compose(layers, [], NOON + 1.0)
    assert second is not first and not np.array_equal(first, second)
    assert compositor.raster_counts == {"clock": 2}


def test_clock_format_decides_how_often_it_changes(compositor: Compositor) -> None:
    layers = [clock("%H:%M")]
    first = compositor.compose(layers, [], NOON)
    assert compositor.compose(layers, [], NOON + 30) is first
    assert compositor.compose(layers, [], NOON + 60) is not first


def chat(max_messages: int = 5, **kwargs: Any) -> dict[str, Any]:
    """A green chat layer."""
    return make_layer("chat", {"maxMessages": max_messages, "fontSize": 16, "color": "#00ff00"},
                      **kwargs)


def test_chat_shows_messages_as_they_arrive(compositor: Compositor) -> None:
    layers = [chat(x=5, y=5)]
    assert not compositor.compose(layers, [], 0.0).any()
    history = [chat_message(1)]
    one = compositor.compose(layers, history, 0.0)
    assert coloured(one, GREEN).any()
    assert compositor.compose(layers, list(history), 1.0) is one
    history.append(chat_message(2))
    two = compositor.compose(layers, history, 2.0)
    assert two is not one and drawn_rows(two).max() > drawn_rows(one).max()


def test_chat_shows_only_the_latest_messages(compositor: Compositor) -> None:
    history = [chat_message(n, f"message number {n}") for n in range(1, 4)]
    latest = compositor.compose([chat(1)], history, 0.0).copy()
    alone = Compositor(WIDTH, HEIGHT, Path()).compose([chat(1)], history[-1:], 0.0)
    assert np.array_equal(latest, alone)


def test_chat_wraps_to_the_box_width(compositor: Compositor) -> None:
    history = [chat_message(1, "a few words that will not fit on one narrow line")]
    frame = compositor.compose([chat(x=10, y=10, width=100)], history, 0.0)
    outside = frame.copy()
    outside[:, 10:110] = 0
    assert not outside.any()
    assert drawn_rows(frame).max() - drawn_rows(frame).min() > 40


def test_chat_in_a_short_box_keeps_the_newest_lines(compositor: Compositor) -> None:
    history = [chat_message(n) for n in range(1, 6)]
    boxed = compositor.compose([chat(x=0, y=0, height=20)], history, 0.0).copy()
    newest = Compositor(WIDTH, HEIGHT, Path()).compose(
        [chat(x=0, y=0, height=20)], history[-1:], 0.0)
    assert np.array_equal(boxed, newest)
