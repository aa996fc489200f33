"""What video and input layers share: a source process per layer (render.sources), whose
newest frame is blended straight from the shared memory it was decoded into.

Each layer of these types asks the compositor for a source process (`source_specs`, with the
scaled box, so the process scales and the render thread does not). Each frame the rasteriser
takes the frame the source has for this instant (`pick`); a new picture is a new tile key.
The frame is opaque BGR (I420 when the compositor composites in YUV) the size of the box, so
with no opacity or rotation it is blended as it is, never copied on the render thread. A
problem (a missing file, a source that failed) shows the media placeholder and the layer's
error.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar, cast

import cv2
import numpy as np

from core.layers import Layer
from core.layers.playback import Playback
from core.layers.sound import SoundingContent
from render.layers.base import Box, FrameInput, LayerError, LayerRenderer, RenderContext
from render.layers.image import draw_placeholder, fit
from render.layers.placement import stretch
from render.layers.planar import i420_size
from render.sources import SourceFrame, SourceSpec

Sounding = TypeVar("Sounding", bound=SoundingContent)
_NOTHING = np.zeros((1, 1, 4), np.uint8)


@dataclass(frozen=True)
class SourceDrawing(Generic[Sounding]):
    """What a source layer is drawn from: its id (its source process is its own), content,
    and for a video where it is in its file."""

    layer_id: str
    content: Sounding
    playback: Playback | None


class SourceLayer(LayerRenderer[SourceDrawing[Sounding]], Generic[Sounding]):
    """Draws the frame its source process has for now; subclasses say which source and how to
    pick its frame."""

    def __init__(self, context: RenderContext) -> None:
        super().__init__(context)
        self.sources = context.sources
        # Layer id -> why it has no source process (a missing file), set with each sync.
        self._problems: dict[str, str] = {}
        # Layer id -> the frame picked for this compose (None: nothing to show yet).
        self._picked: dict[str, SourceFrame | None] = {}
        # Every layer of this type, hidden ones too (replaced whole: other threads read it).
        self.layer_ids: tuple[str, ...] = ()

    def drawn(self, layer: Layer) -> SourceDrawing[Sounding]:
        """The layer itself: its source is keyed by its id."""
        return SourceDrawing(layer.id, cast(Sounding, layer.content), layer.playback)

    def source_specs(self, layers: list[Layer], now: float) -> dict[str, SourceSpec]:
        """A source per layer, or the problem that keeps it from having one."""
        specs: dict[str, SourceSpec] = {}
        problems: dict[str, str] = {}
        for layer in layers:
            spec = self.spec_for(layer)
            if isinstance(spec, str):
                problems[layer.id] = spec
            else:  # pictures come in the format the compositor composites in
                specs[layer.id] = replace(spec, pixel_format=self.context.frame_format)
        self._problems = problems
        self.layer_ids = tuple(layer.id for layer in layers)
        self._picked = {key: value for key, value in self._picked.items()
                        if key in self.layer_ids}
        return specs

    @abstractmethod
    def spec_for(self, layer: Layer) -> SourceSpec | str:
        """The source process the layer needs, or why it cannot have one."""

    @abstractmethod
    def pick(self, drawing: SourceDrawing[Sounding], frame: FrameInput) -> Hashable:
        """Choose what to show now (into `self._picked`) and answer its tile key."""

    def content_key(self, content: SourceDrawing[Sounding], frame: FrameInput) -> Hashable:
        """The problem, or the picture chosen for this instant."""
        problem = self._problem(content.layer_id)
        if problem is not None:
            self._picked.pop(content.layer_id, None)
            return "problem", problem
        return self.pick(content, frame)

    def rasterise(self, content: SourceDrawing[Sounding], frame: FrameInput,
                  box: Box) -> np.ndarray:
        """The picked frame, fitted to the box (the source already scaled it: normally as is)."""
        problem = self._problem(content.layer_id)
        if problem is not None:
            raise LayerError(problem)
        picked = self._picked.get(content.layer_id)
        if picked is None:
            return _NOTHING
        image = picked.image
        if image.ndim == 2:  # I420: as it is when it fills the box, else as BGR
            if fit(*i420_size(image), box) == i420_size(image):
                return image
            image = cv2.cvtColor(image, cv2.COLOR_YUV2BGR_I420)
        width, height = fit(image.shape[1], image.shape[0], box)
        return stretch(image, width, height)

    def placeholder(self, content: SourceDrawing[Sounding], box: Box, message: str) -> np.ndarray:
        """The media placeholder, naming what is missing."""
        return draw_placeholder(self.context, message, box)

    def _problem(self, layer_id: str) -> str | None:
        problem = self._problems.get(layer_id)
        if problem is not None:
            return problem
        status = self.sources.status(layer_id)
        if status is not None and status.error and status.last_frame_at is None:
            return status.error
        return None

    def status_fields(self, layer_id: str) -> dict[str, Any]:
        """What every source layer reports: size, rate, codec, sound, error."""
        status = self.sources.status(layer_id)
        problem = self._problems.get(layer_id)
        if status is None:
            return {"error": problem}
        return {"width": status.width, "height": status.height, "fps": status.fps,
                "codec": status.codec, "audio": status.audio,
                "error": problem or status.error}
