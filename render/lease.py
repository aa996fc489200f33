"""The render lease: a Redis key that lets exactly one render instance stream.

The holder renews it well within its time to live; a standby keeps trying to take it, so when
the holder dies (even by `kill -9`) the key expires and a standby streams within about
TTL_SECONDS + STANDBY_POLL_SECONDS (core.lease has the owner-checked Redis side).
"""

from __future__ import annotations

import logging
import queue

from core.lease import Lease
from core.loop import BackgroundLoop, OutageLog
from render.inbox import InboxMessage, LeaseChanged

log = logging.getLogger(__name__)

TTL_SECONDS = 2.0
RENEW_SECONDS = 1.0
STANDBY_POLL_SECONDS = 0.25


class LeaseKeeper(BackgroundLoop):
    """Renews the lease about once a second while held, and polls for it while on standby.

    Changes are reported to the render thread as `LeaseChanged`. While Redis is unreachable the
    last answer stands: nobody else can take the lease meanwhile, and a live stream must not
    stop because the state store blinked.
    """

    def __init__(self, lease: Lease, inbox: queue.Queue[InboxMessage]) -> None:
        super().__init__("lease", OutageLog(log, "cannot reach Redis for the render lease (%s)",
                                            back="Redis reachable again for the render lease"))
        self.lease = lease
        self._inbox = inbox
        self.held = False

    def step(self) -> float:
        """Keep or seek the lease once; report a change."""
        held = self.lease.keep(self.held)
        if held != self.held:
            self.held = held
            log.info("render lease %s", "taken: streaming" if held else "lost: standing by")
            self._inbox.put(LeaseChanged(held))
        return self.retry_after()

    def retry_after(self) -> float:
        """The holder renews well within the lease's life; a standby polls more often."""
        return RENEW_SECONDS if self.held else STANDBY_POLL_SECONDS
