"""The render lease: a Redis key that lets exactly one render instance stream.

The holder renews it well within its time to live; a standby keeps trying to take it, so when
the holder dies (even by `kill -9`) the key expires and a standby streams within about
TTL_SECONDS + STANDBY_POLL_SECONDS (core.lease has the owner-checked Redis side).
"""

from __future__ import annotations

import logging
import queue
import threading

import redis

from core.lease import Lease
from render.inbox import InboxMessage, LeaseChanged

log = logging.getLogger(__name__)

TTL_SECONDS = 2.0
RENEW_SECONDS = 1.0
STANDBY_POLL_SECONDS = 0.25


class LeaseKeeper(threading.Thread):
    """Renews the lease about once a second while held, and polls for it while on standby.

    Changes are reported to the render thread as `LeaseChanged`. While Redis is unreachable the
    last answer stands: nobody else can take the lease meanwhile, and a live stream must not
    stop because the state store blinked.
    """

    def __init__(self, lease: Lease, inbox: queue.Queue[InboxMessage]) -> None:
        super().__init__(name="lease", daemon=True)
        self.lease = lease
        self._inbox = inbox
        self._stopping = threading.Event()
        self.held = False

    def stop(self) -> None:
        """Stop renewing and wait for the thread (then the owner may release the lease)."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=5)

    def run(self) -> None:
        """Keep or seek the lease until stopped."""
        failing = False
        while not self._stopping.is_set():
            try:
                held = self.lease.keep(self.held)
                failing = False
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if not failing:
                    log.warning("cannot reach Redis for the render lease (%s)", exc)
                failing = True
                held = self.held
            if held != self.held:
                self.held = held
                log.info("render lease %s", "taken: streaming" if held else "lost: standing by")
                self._inbox.put(LeaseChanged(held))
            self._stopping.wait(RENEW_SECONDS if held else STANDBY_POLL_SECONDS)
