"""Writes what the render worker measures to the store about once a second, off the render
thread (a slow Redis must never delay a frame): the heartbeat of this instance always, and
the stream telemetry while this instance is the one streaming."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import redis

from core.store import LiveState

log = logging.getLogger(__name__)


class Reporter(threading.Thread):
    """Every `interval` seconds: heartbeat, then telemetry when `report()` gives one."""

    def __init__(self, live: LiveState, instance_id: str, interval: float,
                 role: Callable[[], str], report: Callable[[], dict[str, Any] | None]) -> None:
        super().__init__(name="reporter", daemon=True)
        self._live = live
        self.instance_id = instance_id
        self._interval = interval
        self._role = role
        self._report = report
        self._stopping = threading.Event()

    def stop(self) -> None:
        """End the loop; the heartbeat is removed so /health stops listing this instance."""
        self._stopping.set()
        self.join(timeout=5)
        try:
            self._live.forget_instance(self.instance_id)
        except redis.RedisError as exc:
            log.warning("could not remove the heartbeat of %s: %s", self.instance_id, exc)

    def run(self) -> None:
        """Report until stopped; a Redis outage only skips reports."""
        failing = False
        while not self._stopping.is_set():
            try:
                self.report_once()
                failing = False
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if not failing:
                    log.warning("cannot report to Redis (%s); frames go on", exc)
                failing = True
            self._stopping.wait(self._interval)

    def report_once(self) -> None:
        """One heartbeat and, when streaming, one telemetry write."""
        self._live.beat(self.instance_id, self._role(), os.getpid(), socket.gethostname())
        telemetry = self._report()
        if telemetry is not None:
            self._live.write_telemetry(telemetry)
