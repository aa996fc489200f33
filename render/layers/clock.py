"""Clock layers: the wall clock at `now`, formatted with `content.format` (strftime).

The formatted string is part of the tile key, so the clock re-rasterises only when the
string changes: once a second with %S, once a minute with %H:%M.
"""

from __future__ import annotations

import time

from core.layers.types.clock import ClockContent
from render.layers.base import FrameInput, rasteriser
from render.layers.text import StyledTextLayer


@rasteriser("clock")
class ClockLayer(StyledTextLayer[ClockContent]):
    """Draws `time.localtime(now)` through strftime, laid out like a text layer."""

    def shown(self, content: ClockContent, frame: FrameInput) -> str:
        """The formatted time."""
        return time.strftime(content.format, frame.localtime())
