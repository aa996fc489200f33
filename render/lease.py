"""The render lease: who may stream a channel, and until when (its fencing deadline).

Two kinds of lease, one keeper:
- a channel process (render.channel) holds its channel's lease by placement
  (core.store.placement.ChannelLease): only while the placement names its node, with the token
  "<node>/<epoch>"; a leader renews it every LEASE_RENEW s, a warm follower polls every
  FOLLOWER_POLL s;
- a Renderer built without a node takes the free-for-all lease (core.lease.Lease, `FreeLease`
  here): whoever takes it first streams, the others stand by; the holder renews it about once
  a second, a standby polls every STANDBY_POLL_SECONDS, so after a `kill -9` a standby streams
  within about TTL_SECONDS + STANDBY_POLL_SECONDS.

Either way the keeper keeps `deadline`: the time.monotonic until which this process may
publish, the time before its last successful tick plus the lease's life (nobody else can hold
the lease before then). The render thread reads it every frame (an attribute, no Redis call)
and every batch handed to a sender carries it (render.outputs.packets). A lease lost to another
process (a takeover overwrote it) ends the deadline at once; a lease the placement moved away
from this node (a drain) stays this process's until it expires, so the stream closes with its
trailers and the render thread releases it then.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from typing import Protocol

from core.lease import Lease
from core.loop import BackgroundLoop, OutageLog
from render.inbox import InboxMessage, LeaseChanged

log = logging.getLogger(__name__)

TTL_SECONDS = 2.0
RENEW_SECONDS = 1.0
STANDBY_POLL_SECONDS = 0.25


class Hold(Protocol):
    """A process's hold on a lease (core.store.placement.ChannelLease is one)."""

    token: str | None  # the value the lease has while this process holds it

    def tick(self) -> float | None:
        """Take or keep the lease; the publish deadline (time.monotonic), or None."""

    def release(self) -> None:
        """Give the lease up if it is still ours."""

    def holder(self) -> str | None:
        """The lease's value now (whoever's)."""


class FreeLease:
    """The free-for-all lease as a `Hold`: renew while held, else try to take it."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.token: str | None = None

    def tick(self) -> float | None:
        """One keep of the lease; its deadline while held."""
        before = time.monotonic()
        held = self.lease.keep(self.token is not None)
        self.token = self.lease.owner if held else None
        return before + self.lease.ttl if held else None

    def release(self) -> None:
        """Delete the lease if it is ours."""
        self.token = None
        self.lease.release()

    def holder(self) -> str | None:
        """Who holds the lease now."""
        return self.lease.holder()


class LeaseKeeper(BackgroundLoop):
    """Ticks the lease: every `renew_every` s while held, every `poll_every` s otherwise.

    Changes are reported to the render thread as `LeaseChanged`. While Redis is unreachable
    the held flag stands but the deadline is not extended: after TTL_SECONDS the render
    thread stops publishing (another node may hold the channel by then), and it starts again
    once a tick succeeds.
    """

    def __init__(self, lease: Lease | Hold, inbox: queue.Queue[InboxMessage], *,
                 renew_every: float = RENEW_SECONDS,
                 poll_every: float = STANDBY_POLL_SECONDS) -> None:
        super().__init__("lease", OutageLog(log, "cannot reach Redis for the render lease (%s)",
                                            back="Redis reachable again for the render lease"))
        self.lease: Hold = FreeLease(lease) if isinstance(lease, Lease) else lease
        self._inbox = inbox
        self._renew_every = renew_every
        self._poll_every = poll_every
        self.held = False
        # Until when this process may publish (time.monotonic); read by the render thread.
        self.deadline = -math.inf

    def step(self) -> float:
        """Keep or seek the lease once; report a change."""
        token = self.lease.token
        deadline = self.lease.tick()
        if deadline is not None:
            self.deadline = deadline
        elif self.held and not self._still(token):
            self.deadline = -math.inf  # taken over: not one more packet
        held = deadline is not None
        if held != self.held:
            self.held = held
            log.info("render lease %s", "taken: streaming" if held else "lost: standing by")
            self._inbox.put(LeaseChanged(held))
        return self.retry_after()

    def release(self) -> None:
        """Give the lease up (a clean stop, or after closing a stream whose placement moved)."""
        self.deadline = -math.inf
        self.lease.release()

    def retry_after(self) -> float:
        """The holder renews well within the lease's life; a standby polls more often."""
        return self._renew_every if self.held else self._poll_every

    def _still(self, token: str | None) -> bool:
        """Whether the lease still has our `token` (the placement moved, nobody took it yet);
        when Redis cannot tell, it is taken as lost."""
        try:
            return token is not None and self.lease.holder() == token
        except Exception:  # noqa: BLE001 - in doubt the deadline ends
            log.warning("cannot read the render lease; stop publishing", exc_info=True)
            return False
