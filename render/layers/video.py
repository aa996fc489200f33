"""Video layers: a file from the media library, played on the program clock.

The layer's playback anchor (core.layers.playback) gives the position for each frame's time,
so every output slot shows the frame whose time covers it, whatever the file's rate. The
source process decodes ahead and holds the last frame at the end of a file that does not
loop. A file replaced in the library (another size or modification time) restarts its source
within a second; a missing or refused one shows the placeholder and the layer's error.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from core.layers import Layer
from core.layers.types.video import VideoContent
from core.media import MediaPathError, resolve_source
from render.layers.base import FrameInput, rasteriser
from render.layers.placement import scaled_box
from render.layers.source import SourceDrawing, SourceLayer
from render.sources import SourceSpec


@rasteriser("video")
class VideoLayer(SourceLayer[VideoContent]):
    """Shows each slot the frame of its file that covers it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._loops: dict[str, bool] = {}

    def spec_for(self, layer: Layer) -> SourceSpec | str:
        """The file, its identity (so a replaced file restarts), the box and whether it loops."""
        content = layer.content
        assert isinstance(content, VideoContent)
        try:
            path = resolve_source(self.context.media_root, content.source)
            status = path.stat()
        except MediaPathError as exc:
            return f"video '{content.source}' refused: {exc}"
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop, on Python 3.11
            return f"video '{content.source}' not found"
        box = scaled_box(layer.transform)
        return SourceSpec("file", str(path), box.width, box.height, content.loop,
                          revision=(status.st_mtime_ns, status.st_size))

    def pick(self, drawing: SourceDrawing[VideoContent], frame: FrameInput) -> Hashable:
        """The frame covering this instant of the layer's timeline."""
        playback = drawing.playback
        # Not rounded to the ms: a program slot 1/30 s after the last must land 1/30 s further
        # into the file, or a 30 fps file whose frames start near the slots' times shows one
        # frame twice and skips the next now and then.
        position = playback.position_at(frame.now * 1000) if playback else 0.0
        picked = self.sources.frame(drawing.layer_id, position)
        self._picked[drawing.layer_id] = picked
        return ("waiting",) if picked is None else ("frame", picked.seq)

    def source_states(self) -> dict[str, dict[str, Any]]:
        """Each video's duration, size, rate, codec and problem."""
        states = {}
        for layer_id in self.layer_ids:
            status = self.sources.status(layer_id)
            states[layer_id] = {**self.status_fields(layer_id),
                                "duration": status.duration if status else None}
        return states

