"""Frame fan-out inside one preview process.

One Redis subscription per quality that has clients (never one per client); each client owns a
one-slot, latest-wins buffer. Delivering a frame only replaces what a slot holds, so a slow or
stalled client skips frames: it never blocks the others, never grows memory and never reaches
back to the render worker.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from core.keys import Keys
from core.preview_frames import unpack_frame

log = logging.getLogger(__name__)

LISTEN_TIMEOUT = 0.5
RETRY_SECONDS = 0.5


class LatestFrame:
    """A one-slot buffer: the newest JPEG not yet taken, and how many were overwritten."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._frame: tuple[float, int, bytes] | None = None
        self.skipped = 0

    def put(self, produced_at: float, sequence: int, jpeg: bytes) -> None:
        """Offer a frame; one not yet taken is dropped (counted in `skipped`)."""
        with self._ready:
            if self._frame is not None:
                self.skipped += 1
            self._frame = (produced_at, sequence, jpeg)
            self._ready.notify()

    def take(self, timeout: float) -> tuple[float, int, bytes] | None:
        """The newest frame, waiting up to `timeout`; None if none came."""
        with self._ready:
            if self._frame is None:
                self._ready.wait(timeout)
            frame, self._frame = self._frame, None
            return frame


class FrameHub:
    """Subscribes per quality while it has clients and copies each frame to their slots.

    `client` must not decode responses: frames are binary.
    """

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._lock = threading.Lock()
        self._slots: dict[str, set[LatestFrame]] = {}
        self._listeners: dict[str, threading.Thread] = {}

    def join(self, quality: str) -> LatestFrame:
        """A new slot fed with `quality` frames."""
        slot = LatestFrame()
        with self._lock:
            self._slots.setdefault(quality, set()).add(slot)
            if quality not in self._listeners:
                listener = threading.Thread(target=self._listen, args=(quality,),
                                            name=f"preview-{quality}", daemon=True)
                self._listeners[quality] = listener
                listener.start()
        return slot

    def leave(self, quality: str, slot: LatestFrame) -> None:
        """Stop feeding `slot`; the last one out ends the quality's subscription."""
        with self._lock:
            self._slots.get(quality, set()).discard(slot)

    def clients(self, quality: str) -> int:
        """How many slots `quality` feeds."""
        with self._lock:
            return len(self._slots.get(quality, ()))

    def _listen(self, quality: str) -> None:
        """Pump one quality's channel into its slots while any client wants it; a lost
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
            try:
                frame = unpack_frame(message["data"])
            except ValueError:
                log.warning("ignoring a malformed preview frame on %s", channel)
                continue
            with self._lock:
                slots = list(self._slots.get(quality, ()))
            for slot in slots:
                slot.put(*frame)

    def _still_wanted(self, quality: str, stop_listening: bool = True) -> bool:
        with self._lock:
            if self._slots.get(quality):
                return True
            if stop_listening:
                # Decided under the lock, so a client joining now starts a new listener.
                self._listeners.pop(quality, None)
            return False
