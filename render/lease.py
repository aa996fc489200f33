"""The render lease: a Redis key that lets exactly one render instance stream.

The holder renews it well within its time to live; a standby keeps trying to take it, so when
the holder dies (even by `kill -9`) the key expires and a standby streams within about
TTL_SECONDS + STANDBY_POLL_SECONDS. Renewal and release check the owner inside Redis (a Lua
script), so an instance can never extend or delete a lease another instance has taken since.
"""

from __future__ import annotations

import logging
import queue
import threading

import redis

from render.commands import Command, LeaseChanged

log = logging.getLogger(__name__)

TTL_SECONDS = 2.0
RENEW_SECONDS = 1.0
STANDBY_POLL_SECONDS = 0.25

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """One instance's hold on the lease key."""

    def __init__(self, client: redis.Redis, key: str, owner: str, ttl: float) -> None:
        self._redis = client
        self.key = key
        self.owner = owner
        self._ttl_ms = int(ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        return bool(self._redis.set(self.key, self.owner, nx=True, px=self._ttl_ms))

    def renew(self) -> bool:
        """Extend the lease; False when it is no longer ours (expired or taken)."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self._ttl_ms]))

    def keep(self, held: bool) -> bool:
        """One tick of the keeper: renew what we hold, else try to take it. Answers held."""
        return self.renew() if held else self.acquire()

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
        self._release(keys=[self.key], args=[self.owner])

    def holder(self) -> str | None:
        """Who holds the lease now."""
        return self._redis.get(self.key)


class LeaseKeeper(threading.Thread):
    """Renews the lease about once a second while held, and polls for it while on standby.

    Changes are reported to the render thread as `LeaseChanged`. While Redis is unreachable the
    last answer stands: nobody else can take the lease meanwhile, and a live stream must not
    stop because the state store blinked.
    """

    def __init__(self, lease: Lease, commands: queue.Queue[Command]) -> None:
        super().__init__(name="lease", daemon=True)
        self.lease = lease
        self._commands = commands
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
                self._commands.put(LeaseChanged(held))
            self._stopping.wait(RENEW_SECONDS if held else STANDBY_POLL_SECONDS)
