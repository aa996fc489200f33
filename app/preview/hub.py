"""Frame fan-out inside one preview process.

One Redis subscription per quality that has clients (never one per client); each client's
outbox holds one frame, latest wins. Delivering a frame only replaces what an outbox holds, so
a slow or stalled client skips frames: it never blocks the others, never grows memory and
never reaches back to the render worker.
"""

from __future__ import annotations

import logging
import threading

import redis

from app.preview.outbox import Outbox
from core.keys import Keys
from core.loop import BackgroundLoop, OutageLog
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
        self._listeners: dict[str, QualityListener] = {}

    def join(self, quality: str, outbox: Outbox) -> None:
        """Feed `outbox` with `quality` frames."""
        with self._lock:
            self._outboxes.setdefault(quality, set()).add(outbox)
            if quality not in self._listeners:
                listener = QualityListener(self, quality, self._keys.preview_frames(quality))
                self._listeners[quality] = listener
                listener.start()

    def leave(self, quality: str, outbox: Outbox) -> None:
        """Stop feeding `outbox`; the last one out ends the quality's subscription."""
        with self._lock:
            self._outboxes.get(quality, set()).discard(outbox)

    def stop(self) -> None:
        """End every subscription now, clients or not, and wait for the listeners."""
        with self._lock:
            listeners = list(self._listeners.values())
            self._listeners.clear()
        for listener in listeners:
            listener.stop()

    def new_pubsub(self) -> redis.client.PubSub:
        """A new pub/sub connection for a listener."""
        return self._redis.pubsub(ignore_subscribe_messages=True)

    def outboxes(self, quality: str) -> list[Outbox]:
        """The outboxes that want `quality` frames now."""
        with self._lock:
            return list(self._outboxes.get(quality, ()))

    def still_wanted(self, listener: QualityListener, stop_listening: bool = True) -> bool:
        """Whether any client wants the listener's quality; if not and `stop_listening`, the
        listener is forgotten, so that a client joining from now on starts a new one."""
        with self._lock:
            if self._outboxes.get(listener.quality):
                return True
            if stop_listening and self._listeners.get(listener.quality) is listener:
                # Decided under the lock, so a client joining now starts a new listener.
                del self._listeners[listener.quality]
            return False


class QualityListener(BackgroundLoop):
    """Pumps one quality's channel into its outboxes while any client wants it; a lost
    subscription is made again (frames meanwhile are simply missed)."""

    def __init__(self, hub: FrameHub, quality: str, channel: str) -> None:
        outage = OutageLog(log, "preview subscription to %s lost (%s); retrying", channel,
                           back="preview subscription to %s made again")
        super().__init__(f"preview-{quality}", outage, RETRY_SECONDS)
        self._outage = outage
        self._hub = hub
        self.quality = quality
        self._channel = channel

    def step(self) -> float:
        """Subscribe and pump until nobody wants the quality (then the loop ends)."""
        if not self._hub.still_wanted(self):
            self.stop()
            return 0.0
        pubsub = self._hub.new_pubsub()
        try:
            pubsub.subscribe(self._channel)
            self._outage.succeeded()
            self._pump(pubsub)
        finally:
            pubsub.close()
        return 0.0

    def _pump(self, pubsub: redis.client.PubSub) -> None:
        while not self.stopping and self._hub.still_wanted(self, stop_listening=False):
            message = pubsub.get_message(timeout=LISTEN_TIMEOUT)
            if message is None or message["type"] != "message":
                continue
            jpeg = message["data"]
            if not jpeg.startswith(JPEG_SOI):
                log.warning("ignoring a preview frame on %s that is not a JPEG", self._channel)
                continue
            for outbox in self._hub.outboxes(self.quality):
                outbox.put_frame(self.quality, jpeg)
