"""Preview frames: JPEGs for the qualities somebody watches, published on Redis pub/sub.

The render thread hands over its latest frame at PREVIEW_FPS through a one-slot buffer and
never waits; this thread scales, JPEG-encodes, stamps and publishes. A quality is encoded only
while the store's preview-client registry lists a client watching it (the preview processes
keep their clients there, with an expiry), read about once a second, so an unwatched preview
costs nothing.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
import redis

from core.preview_frames import QUALITY_WIDTHS, preview_size, stamp_frame
from core.store import LiveState

log = logging.getLogger(__name__)

JPEG_QUALITY = 80
SUBSCRIBERS_REFRESH_SECONDS = 1.0


class PreviewPublisher(threading.Thread):
    """Publishes the latest offered frame to each watched quality's channel."""

    def __init__(self, live: LiveState, width: int, height: int, fps: int) -> None:
        super().__init__(name="preview", daemon=True)
        self._live = live
        self._channels = {quality: live.keys.preview_frames(quality)
                          for quality in QUALITY_WIDTHS}
        self._sizes = {quality: preview_size(quality, width, height) for quality in QUALITY_WIDTHS}
        self._interval = 1.0 / fps
        self._watched: tuple[str, ...] = ()
        self._latest: tuple[np.ndarray, float] | None = None
        self._offered = threading.Event()
        self._stopping = threading.Event()
        self._next_due = 0.0
        self.sequence = 0

    @property
    def watched(self) -> bool:
        """Whether anybody watches any quality."""
        return bool(self._watched)

    def due(self, now: float) -> bool:
        """Whether the render thread should offer a frame now (watched, and PREVIEW_FPS)."""
        return bool(self._watched) and now >= self._next_due

    def offer(self, frame: np.ndarray, now: float) -> None:
        """Hand over a frame (never mutated afterwards); replaces one not yet published."""
        self._latest = (frame, time.time())
        self._next_due = max(self._next_due + self._interval, now)
        self._offered.set()

    def stop(self) -> None:
        """End the thread."""
        self._stopping.set()
        self._offered.set()

    def run(self) -> None:
        """Publish offered frames; re-read who watches about once a second."""
        refresh_at = 0.0
        while not self._stopping.is_set():
            if time.monotonic() >= refresh_at:
                self._refresh_watched()
                refresh_at = time.monotonic() + SUBSCRIBERS_REFRESH_SECONDS
            if not self._offered.wait(SUBSCRIBERS_REFRESH_SECONDS):
                continue
            self._offered.clear()
            latest, self._latest = self._latest, None
            if latest is not None and not self._stopping.is_set():
                self._publish(*latest)

    def _refresh_watched(self) -> None:
        try:
            watched = {client["quality"] for client in self._live.preview_clients()}
        except (redis.ConnectionError, redis.TimeoutError):
            self._watched = ()
            return
        self._watched = tuple(quality for quality in self._channels if quality in watched)

    def _publish(self, frame: np.ndarray, produced_at: float) -> None:
        self.sequence += 1
        if frame.ndim == 2:  # I420, as the render worker composites (render.layers.planar)
            frame = cv2.cvtColor(frame, cv2.COLOR_YUV2BGR_I420)
        # Qualities of the same size (medium of a 640-wide output is its high) share one JPEG.
        stamped: dict[tuple[int, int], bytes | None] = {}
        for quality in self._watched:
            size = self._sizes[quality]
            if size not in stamped:
                stamped[size] = self._encode(frame, size, produced_at)
            jpeg = stamped[size]
            if jpeg is None:
                continue
            try:
                self._live.redis.publish(self._channels[quality], jpeg)
            except (redis.ConnectionError, redis.TimeoutError):
                return

    def _encode(self, frame: np.ndarray, size: tuple[int, int],
                produced_at: float) -> bytes | None:
        """The stamped JPEG of `frame` at `size`, or None if it does not encode."""
        scaled = frame if size == (frame.shape[1], frame.shape[0]) else cv2.resize(
            frame, size, interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", scaled, (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY))
        return stamp_frame(jpeg.tobytes(), produced_at, self.sequence) if ok else None
