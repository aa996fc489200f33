"""Background work that rides out a Redis outage: log it once, wait, retry.

Every process has threads that read or write Redis on their own rhythm (the render worker's
feed, lease and reporter, the preview's feed, roster and frame listeners). Redis may blink
at any time; such a thread must neither die nor flood the log, so an outage is logged once
when it starts and once when it ends, and the work is tried again after a pause. The pause
ends at once when the thread is stopped, so `stop()` returns within one step.
"""

from __future__ import annotations

import logging
import threading

import redis

# What a Redis outage looks like to a client: retried, never fatal. Other Redis errors (a key
# of the wrong type, a script error) are bugs or bad data, not an outage.
REDIS_OUTAGE = (redis.ConnectionError, redis.TimeoutError)

STOP_TIMEOUT_SECONDS = 5.0


class OutageLog:
    """Logs an outage once when it starts (a warning) and once when it ends (info).

    `lost` is the warning's %-format: `args` then the exception fill it. `back` is the
    message when it ends, with the same `args`.
    """

    def __init__(self, logger: logging.Logger, lost: str, *args: object, back: str) -> None:
        self._logger = logger
        self._lost = lost
        self._back = back
        self._args = args
        self._failing = False

    def failed(self, exc: Exception) -> None:
        """An attempt failed: logged only if it is the first of an outage."""
        if not self._failing:
            self._logger.warning(self._lost, *self._args, exc)
        self._failing = True

    def succeeded(self) -> None:
        """An attempt went through: the end of an outage is logged."""
        if self._failing:
            self._logger.info(self._back, *self._args)
        self._failing = False


class BackgroundLoop(threading.Thread):
    """A daemon thread that runs `step()` until `stop()`, pausing as each step asks.

    A step that meets a Redis outage is logged through `outage` and tried again after
    `retry_after()` (`retry_seconds` unless a subclass knows better). Without an `outage`, a
    step is expected to handle Redis errors itself.
    """

    def __init__(self, name: str, outage: OutageLog | None = None,
                 retry_seconds: float = 0.0) -> None:
        super().__init__(name=name, daemon=True)
        self.outage = outage
        self.retry_seconds = retry_seconds
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called: a long step should return soon."""
        return self._stopping.is_set()

    def step(self) -> float:
        """One round of work; returns the seconds to wait before the next."""
        raise NotImplementedError

    def retry_after(self) -> float:
        """Seconds to wait after a step met a Redis outage."""
        return self.retry_seconds

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (at once) if the loop is stopped meanwhile."""
        return self._stopping.wait(seconds)

    def stop(self) -> None:
        """End the loop and wait for the thread (callable from the thread itself too, where
        it only ends the loop after the current step)."""
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=STOP_TIMEOUT_SECONDS)

    def run(self) -> None:
        """Step, pause, repeat until stopped."""
        while not self.stopping:
            if self.outage is None:
                pause = self.step()
            else:
                try:
                    pause = self.step()
                except REDIS_OUTAGE as exc:
                    self.outage.failed(exc)
                    pause = self.retry_after()
                else:
                    self.outage.succeeded()
            self.wait(pause)
