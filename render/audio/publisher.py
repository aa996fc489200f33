"""Sends the program audio's levels to the preview clients about 10 times a second, off the
render thread (a Redis PUBLISH may wait; a frame may not)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from core.loop import BackgroundLoop, OutageLog
from core.store import LiveState

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.1


class LevelsPublisher(BackgroundLoop):
    """Publishes the newest levels every INTERVAL_SECONDS when they changed."""

    def __init__(self, live: LiveState, levels: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__("audio levels",
                         OutageLog(log, "cannot publish audio levels (%s)",
                                   back="publishing audio levels again"),
                         retry_seconds=1.0)
        self._live = live
        self._levels = levels
        self._sent: dict[str, Any] | None = None

    def step(self) -> float:
        """Publish the levels if the mixer made new ones since the last time."""
        levels = self._levels()
        if levels is not None and levels is not self._sent:
            self._live.publish_audio_levels(levels)
            self._sent = levels
        return INTERVAL_SECONDS
