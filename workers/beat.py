"""The celery beat scheduler of the stream manager: only one beat sends the checks.

Two beat processes (say, one per host for redundancy) would otherwise each send every check
once per tick. Each tick, a beat renews (or tries to take) a lease in Redis; only its holder
sends tasks, and if it dies its lease expires within three check intervals and another beat
takes over. The schedule lives in memory: interval checks a few seconds apart gain nothing
from a schedule file.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import Any

import redis
from celery.beat import Scheduler

from core.lease import Lease
from core.loop import OutageLog

log = logging.getLogger(__name__)

# Lease lifetime in check intervals: a missed renewal or two is not a handover.
LEASE_INTERVALS = 3


class SingleBeatScheduler(Scheduler):
    """A Scheduler that sends due tasks only while it holds the beat lease."""

    def setup_schedule(self) -> None:
        """Build the lease from the app's store, then the schedule as usual."""
        interval = self.app.settings.health_check_interval
        owner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        store = self.app.store
        self._lease = Lease(store.redis, store.keys.beat_lock, owner, LEASE_INTERVALS * interval)
        self._poll = interval
        self._held = False
        self._outage = OutageLog(log, "cannot reach Redis for the beat lease (%s); not scheduling",
                                 back="Redis reachable again for the beat lease")
        super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due while the lease is ours; otherwise wait a check interval."""
        if not self._keep_lease():
            return self._poll
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        """Hand the lease over at once on a clean stop, so another beat need not wait."""
        if self._held:
            try:
                self._lease.release()
            except redis.RedisError as exc:
                log.warning("could not release the beat lease (%s); it expires by itself", exc)
        super().close()

    def _keep_lease(self) -> bool:
        try:
            held = self._lease.keep(self._held)
            self._outage.succeeded()
        except redis.RedisError as exc:
            self._outage.failed(exc)
            held = False
        if held != self._held:
            log.info("beat lease %s", "taken: scheduling the health checks" if held
                     else "lost: standing by")
            self._held = held
        return held
