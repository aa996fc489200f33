"""One running stream: the encoder and every destination it feeds.

Frames are encoded once; each packet goes to every destination, whose `send` never blocks
(a sender process per destination does the network or disk I/O). Closing flushes the
encoder and lets every destination write its trailer, in parallel.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from core.config import Settings
from render.encoder import Encoder
from render.outputs import Destination, OutputTarget, build_targets

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


def targets_for(settings: Settings) -> list[OutputTarget]:
    """Every RTMP_URL, plus a recording with RECORD=on or when there is no RTMP_URL."""
    return build_targets(settings.rtmp_urls, settings.recordings_dir,
                         record=settings.record == "on")


class Pipeline:
    """Encoder plus destinations, from start to a clean stop."""

    def __init__(self, settings: Settings, targets: list[OutputTarget]) -> None:
        self.encoder = Encoder(settings.output_width, settings.output_height,
                               settings.render_fps, settings.video_bitrate,
                               settings.audio_bitrate)
        self.destinations = [Destination(target, self.encoder.info) for target in targets]
        for destination in self.destinations:
            destination.start()
        log.info("streaming to %s", ", ".join(d.name for d in self.destinations) or "nowhere")

    def send(self, frame: np.ndarray, slot: int) -> None:
        """Encode the frame for `slot` and hand its packets to every destination."""
        self._fan_out(self.encoder.encode(frame, slot))

    def outputs(self) -> list[dict[str, Any]]:
        """Each destination's name, state and error (names never carry a stream key)."""
        return [destination.status() for destination in self.destinations]

    def close(self) -> None:
        """Flush, write every trailer (in parallel, bounded by CLOSE_TIMEOUT), free the encoder."""
        self._fan_out(self.encoder.flush())
        closers = [threading.Thread(target=destination.close, args=(CLOSE_TIMEOUT,))
                   for destination in self.destinations]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        self.encoder.close()

    def _fan_out(self, packets: list[Any]) -> None:
        for packet in packets:
            for destination in self.destinations:
                destination.send(packet)
