"""Frame fan-out inside one preview process.

One Redis subscription per quality that has clients (never one per client); each client's
outbox holds one frame, latest wins. Delivering a frame only replaces what an outbox holds, so
a slow or stalled client skips frames: it never blocks the others, never grows memory and
never reaches back to the render worker.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from app.preview.outbox import Outbox
from core.keys import Keys
from core.preview_frames import JPEG_SOI

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 0.5
RETRY_SECONDS = 0.5


class FrameHub:
    """Subscribes per quality while it has clients and offers each frame to their outboxes.

    `client` must not decode responses: frames are binary.
    """

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._lock = threading.Lock()
        self._outboxes: dict[str, set[Outbox]] = {}
        self._listening: set[str] = set()

    def join(self, quality: str, outbox: Outbox) -> None:
        """Feed `outbox` with `quality` frames."""
        with self._lock:
            self._outboxes.setdefault(quality, set()).add(outbox)
            if quality not in self._listening:
                self._listening.add(quality)
                threading.Thread(target=self._listen, args=(quality,),
                                 name=f"preview-{quality}", daemon=True).start()

    def leave(self, quality: str, outbox: Outbox) -> None:
        """Stop feeding `outbox`; the last one out ends the quality's subscription."""
        with self._lock:
            self._outboxes.get(quality, set()).discard(outbox)

    def _listen(self, quality: str) -> None:
        """Pump one quality's channel into its outboxes while any client wants it; a lost
        subscription is made again (frames meanwhile are simply missed)."""
        channel = self._keys.preview_frames(quality)
        failing = False
        while self._still_wanted(quality):
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(channel)
                failing = False
                self._pump(quality, channel, pubsub)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if not failing:
                    log.warning("preview subscription to %s lost (%s); retrying", channel, exc)
                failing = True
                time.sleep(RETRY_SECONDS)
            finally:
                pubsub.close()

    def _pump(self, quality: str, channel: str, pubsub: redis.client.PubSub) -> None:
        while self._still_wanted(quality, stop_listening=False):
            message = pubsub.get_message(timeout=LISTEN_TIMEOUT)
            if message is None or message["type"] != "message":
                continue
            jpeg = message["data"]
            if not jpeg.startswith(JPEG_SOI):
                log.warning("ignoring a preview frame on %s that is not a JPEG", channel)
                continue
            with self._lock:
                outboxes = list(self._outboxes.get(quality, ()))
            for outbox in outboxes:
                outbox.put_frame(quality, jpeg)

    def _still_wanted(self, quality: str, stop_listening: bool = True) -> bool:
        with self._lock:
            if self._outboxes.get(quality):
                return True
            if stop_listening:
                # Decided under the lock, so a client joining now starts a new listener.
                self._listening.discard(quality)
            return False
