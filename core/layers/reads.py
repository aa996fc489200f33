"""A layer as a client reads it: the stored layer (secrets masked) plus what the render worker
reports of it: its `error`, a video's `playback` with the position now and the duration, an
input's `input` state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.layers.model import Layer
from core.layers.playback import PAUSED, media_position
from core.layers.schemas import dump_layer
from core.layers.types.input import InputContent
from core.layers.types.video import VideoContent

# An input the render worker has not reported on yet (just created, or no render worker).
_NOT_REPORTED = {"state": "connecting", "width": None, "height": None, "fps": None,
                 "codec": None, "audio": False, "lostSince": None, "error": None}
INPUT_FIELDS = tuple(_NOT_REPORTED)


def layer_read(layer: Layer, error: str | None, source: Mapping[str, Any] | None,
               now_ms: int) -> dict[str, Any]:
    """The wire read of `layer` at `now_ms`, given the render worker's `error` for it and its
    `source` state (telemetry), if any."""
    wire = dump_layer(layer)
    wire["error"] = error
    content = layer.content
    if layer.playback is not None and isinstance(content, VideoContent):
        duration = (source or {}).get("duration")
        state, position = media_position(layer.playback.position_at(now_ms), duration,
                                         content.loop)
        wire["playback"] = {
            "state": PAUSED if layer.playback.state == PAUSED else state,
            "position": round(position, 3), "since": now_ms, "duration": duration}
    if isinstance(content, InputContent):
        reported = source or {}
        wire["input"] = {key: reported.get(key, default) if reported else default
                         for key, default in _NOT_REPORTED.items()}
    return wire
