"""The audio levels relay of one preview process.

The render worker publishes its audio levels (about 10 a second) on one Redis channel; each
preview process holds one subscription to it, whatever its number of clients, and offers every
client the newest as an `audioLevels` message. Like frames, levels are latest-wins: a client
that reads slowly skips some and is never closed for it.
"""

from __future__ import annotations

import json
import logging

import redis

from app.preview.feed import message
from app.preview.roster import Roster
from core.keys import Keys
from core.loop import BackgroundLoop, OutageLog

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 0.5
RETRY_SECONDS = 0.5


def audio_levels(raw: bytes | str) -> str | None:
    """The `audioLevels` message of one published levels object (None if it is not a JSON
    object: nothing a client cannot parse is relayed)."""
    try:
        levels = json.loads(raw)
    except ValueError:
        return None
    return message("audioLevels", levels) if isinstance(levels, dict) else None


class LevelsRelay(BackgroundLoop):
    """Subscribes to the levels channel and offers each message to every client; a lost
    subscription is made again (levels meanwhile are simply missed)."""

    def __init__(self, client: redis.Redis, keys: Keys, roster: Roster) -> None:
        channel = keys.audio_levels
        outage = OutageLog(log, "audio levels subscription to %s lost (%s); retrying", channel,
                           back="audio levels subscription to %s made again")
        super().__init__("preview-levels", outage, RETRY_SECONDS)
        self._outage = outage
        self._redis = client
        self._channel = channel
        self._roster = roster

    def step(self) -> float:
        """Subscribe and relay until stopped."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self._channel)
            self._outage.succeeded()
            while not self.stopping:
                found = pubsub.get_message(timeout=LISTEN_TIMEOUT)
                if found is None or found["type"] != "message":
                    continue
                text = audio_levels(found["data"])
                if text is None:
                    log.warning("ignoring audio levels on %s that are not a JSON object",
                                self._channel)
                    continue
                self._roster.broadcast_levels(text)
        finally:
            pubsub.close()
        return 0.0
