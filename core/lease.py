"""A Redis lease: a key that lets exactly one of several processes act.

The holder renews it well within its time to live; the others keep trying to take it, so when
the holder dies (even by `kill -9`) the key expires and another takes over. Renewal and release
check the owner inside Redis (a Lua script), so a process can never extend or delete a lease
another has taken since. The render worker (one streaming instance) and celery beat (one
scheduler) both use it.
"""

from __future__ import annotations

from typing import cast

import redis

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
        self.ttl = ttl
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
        return cast(str | None, self._redis.get(self.key))
