"""Input layers: a live stream pulled by a source process, with a fallback while it is lost.

The source process connects, reconnects by itself and hands over each decoded frame; this side
only looks at how old the newest frame is. With none for `lostAfterMs` the layer shows its
fallback: the last frame (`last`), nothing (`hide`) or the `slate` image, drawn as image
layers draw theirs. The state (connecting until the first frame, then live or lost) is
computed from the source's status whenever it is read, so it needs no bookkeeping here.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

import numpy as np

from core.layers import Layer
from core.layers.types.image import ImageContent
from core.layers.types.input import InputContent
from render.layers.base import Box, FrameInput, RenderContext, rasteriser
from render.layers.image import ImageLayer
from render.layers.placement import scaled_box
from render.layers.source import SourceDrawing, SourceLayer
from render.sources import SourceSpec

CONNECTING, LIVE, LOST = "connecting", "live", "lost"


@rasteriser("input")
class InputLayer(SourceLayer[InputContent]):
    """Shows the newest frame of a live stream, or the fallback while there is none."""

    def __init__(self, context: RenderContext) -> None:
        super().__init__(context)
        self._slates = ImageLayer(context)
        # Layer id -> lostAfterMs, for the states read from other threads (replaced whole).
        self._lost_after: dict[str, int] = {}
        # Layers showing their slate this frame.
        self._on_slate: set[str] = set()

    def source_specs(self, layers: list[Layer], now: float) -> dict[str, SourceSpec]:
        """A source per input, and each one's lostAfterMs for its state."""
        self._lost_after = {layer.id: _content(layer).lost_after_ms for layer in layers}
        return super().source_specs(layers, now)

    def spec_for(self, layer: Layer) -> SourceSpec | str:
        """The URL, pulled at the layer's box."""
        box = scaled_box(layer.transform)
        return SourceSpec("live", _content(layer).url, box.width, box.height)

    def pick(self, drawing: SourceDrawing[InputContent], frame: FrameInput) -> Hashable:
        """The newest frame while live, else what the fallback shows."""
        content, layer_id = drawing.content, drawing.layer_id
        picked = self.sources.frame(layer_id, None)
        self._on_slate.discard(layer_id)
        if self.state(layer_id, content.lost_after_ms)[0] != LIVE:
            if content.fallback == "slate" and content.slate:
                self._on_slate.add(layer_id)
                self._picked[layer_id] = None
                return "slate", self._slates.content_key(ImageContent(source=content.slate),
                                                         frame)
            if content.fallback == "hide":
                picked = None
        self._picked[layer_id] = picked
        return ("nothing",) if picked is None else ("frame", picked.seq)

    def rasterise(self, content: SourceDrawing[InputContent], frame: FrameInput,
                  box: Box) -> np.ndarray:
        """The frame, or the slate while lost."""
        if content.layer_id in self._on_slate and content.content.slate:
            return self._slates.rasterise(ImageContent(source=content.content.slate), frame, box)
        return super().rasterise(content, frame, box)

    def end_frame(self) -> None:
        """The slates' decoded images are dropped once no layer shows them."""
        self._slates.end_frame()

    def state(self, layer_id: str, lost_after_ms: int) -> tuple[str, int | None]:
        """(connecting | live | lost, epoch ms it was lost since or None), from the age of the
        source's newest frame."""
        status = self.sources.status(layer_id)
        last = status.last_frame_at if status is not None else None
        if last is None:
            return CONNECTING, None
        age = time.monotonic() - last
        lost_after = lost_after_ms / 1000
        if age <= lost_after:
            return LIVE, None
        return LOST, round((time.time() - age + lost_after) * 1000)

    def source_states(self) -> dict[str, dict[str, Any]]:
        """Each input's state, size, rate, codec, sound, lostSince and problem."""
        states = {}
        for layer_id, lost_after_ms in self._lost_after.items():
            state, lost_since = self.state(layer_id, lost_after_ms)
            states[layer_id] = {**self.status_fields(layer_id), "state": state,
                                "lostSince": lost_since}
        return states

    def _problem(self, layer_id: str) -> str | None:
        # A stream that cannot be reached shows the fallback, not the placeholder; its error
        # is in the layer's `input` state.
        return self._problems.get(layer_id)


def _content(layer: Layer) -> InputContent:
    content = layer.content
    assert isinstance(content, InputContent)
    return content
