"""Writes what the render worker measures to the store about once a second, off the render
thread (a slow Redis must never delay a frame): the heartbeat of this instance always, and
the stream telemetry while this instance is the one streaming."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

import redis

from core.loop import BackgroundLoop, OutageLog
from core.store import LiveState

log = logging.getLogger(__name__)


class Reporter(BackgroundLoop):
    """Every `interval` seconds: heartbeat (with what `details()` adds: LiveState.beat's
    keywords), then telemetry when `report()` gives one. A Redis outage only skips reports."""

    def __init__(self, live: LiveState, instance_id: str, interval: float,
                 role: Callable[[], str], report: Callable[[], dict[str, Any] | None],
                 details: Callable[[], dict[str, Any]] = dict) -> None:
        super().__init__("reporter",
                         OutageLog(log, "cannot report to Redis (%s); frames go on",
                                   back="reporting to Redis again"),
                         retry_seconds=interval)
        self._live = live
        self.instance_id = instance_id
        self._interval = interval
        self._role = role
        self._report = report
        self._details = details

    def stop(self) -> None:
        """End the loop; the heartbeat is removed so /health stops listing this instance."""
        super().stop()
        try:
            self._live.forget_instance(self.instance_id)
        except redis.RedisError as exc:
            log.warning("could not remove the heartbeat of %s: %s", self.instance_id, exc)

    def step(self) -> float:
        """Report once; the next report is due an interval later."""
        self.report_once()
        return self._interval

    def report_once(self) -> None:
        """One heartbeat and, when streaming, one telemetry write."""
        self._live.beat(self.instance_id, self._role(), os.getpid(), socket.gethostname(),
                        **self._details())
        telemetry = self._report()
        if telemetry is not None:
            self._live.write_telemetry(telemetry)
