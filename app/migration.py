"""The key layout migration (core.store.migrate) as the API and preview processes run it."""

from __future__ import annotations

import logging

import redis

from core.keys import Keys
from core.store.migrate import migrate_to_channels

log = logging.getLogger(__name__)


class Migration:
    """Moves a deployment from before channels into channel `default`, as the process starts.
    Without Redis the process starts all the same, and `ensure` (called before each request,
    and before the preview reads a channel) tries again until it has been done once."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys
        self._done = False
        self.ensure()

    def ensure(self) -> None:
        """Migrate unless done already (idempotent: a no-op once migrated). An outage is left
        for the caller to meet and answer on its own (503, /health's down, a retry)."""
        if self._done:
            return
        try:
            migrate_to_channels(self._client, self._keys)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("key layout not checked yet, Redis is unreachable: %s", exc)
        else:
            self._done = True
