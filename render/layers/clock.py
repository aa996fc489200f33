"""Clock layers: the wall clock at `now`, formatted with `content.format` (strftime).

The formatted string is part of the tile key, so the clock re-rasterises only when the
string changes: once a second with %S, once a minute with %H:%M.
"""

from __future__ import annotations

import time
from typing import Any

from render.layers.base import FrameInput
from render.layers.text import TextLayer


class ClockLayer(TextLayer):
    """Draws `time.localtime(now)` through strftime, laid out like a text layer."""

    def shown(self, layer: dict[str, Any], frame: FrameInput) -> str:
        """The formatted time."""
        return time.strftime(layer["content"]["format"], frame.localtime())
