"""One running stream: the encoder and every destination it feeds, changed while on air.

Frames are encoded once; the packets of each encode call are packed once into a batch that
goes to every destination, whose `send` never blocks (a sender process per destination does
the network or disk I/O). `apply` brings the
destinations to the store's targets between two frames: a new output joins at the next
keyframe (its queue waits for one), a removed one writes its trailer in the background, and
the others do not notice. Closing flushes the encoder and lets every destination write its
trailer, in parallel.

Fencing: `deadline()` answers the render lease's deadline (time.monotonic); every message a
destination hands its sender (packets or the close) carries its value at that moment, and the
sender writes nothing past it (render.outputs.packets). The render thread itself stops sending
once it has passed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from core.config import Settings
from core.outputs import OutputTarget
from render.encoder import EncodedPacket, Encoder
from render.outputs import Destination
from render.outputs.packets import Batch
from render.outputs.targets import same_connection

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0
SENDER_START_TIMEOUT = 3.0


class Pipeline:
    """Encoder plus destinations, from start to a clean stop."""

    def __init__(self, settings: Settings, targets: list[OutputTarget],
                 deadline: Callable[[], float] = lambda: math.inf) -> None:
        self._deadline = deadline
        self.encoder = Encoder(settings.output_width, settings.output_height,
                               settings.render_fps, settings.video_bitrate,
                               settings.audio_bitrate)
        self._destinations: dict[str, Destination] = {}
        # Destinations writing their trailer in the background, joined by `close`.
        self._retiring: list[threading.Thread] = []
        self._opened = False
        self.apply(targets)
        self._opened = True
        self._wait_for_senders()
        log.info("streaming to %s", ", ".join(d.name for d in self.destinations) or "nowhere")

    @property
    def destinations(self) -> list[Destination]:
        """The destinations being fed, in the order of their targets."""
        return list(self._destinations.values())

    def apply(self, targets: list[OutputTarget]) -> None:
        """Feed exactly `targets` from the next packet on; never blocks the render thread.

        An output whose connection changed (address, key, segment settings) is closed and
        reopened alone; a rename only renames.
        """
        wanted = {target.id: target for target in targets}
        kept = {}
        for output_id, destination in self._destinations.items():
            target = wanted.get(output_id)
            if target is not None and same_connection(destination.target, target):
                if target.name != destination.name:
                    log.info("output %s is now called %s", destination.name, target.name)
                    destination.rename(target.name)
                kept[output_id] = destination
                continue
            log.info("output %s %s", destination.name,
                     "removed" if target is None else "changed: reconnecting it")
            self._retire(destination)
        destinations = {}
        for target in targets:
            known = kept.get(target.id)
            destinations[target.id] = known if known is not None else self._add(target)
        # Replaced whole, never changed in place: the reporter and metrics threads read it.
        self._destinations = destinations

    def send(self, frame: np.ndarray, slot: int, audio: np.ndarray | None = None) -> None:
        """Encode the frame for `slot` and the sound that ends with it (render.encoder), and
        hand the packets to every destination."""
        self._fan_out(self.encoder.encode(frame, slot, audio))

    def outputs(self) -> list[dict[str, Any]]:
        """Each destination's status (names never carry a stream key)."""
        return [destination.status() for destination in self.destinations]

    def close(self) -> None:
        """Flush, write every trailer (in parallel, bounded by CLOSE_TIMEOUT), free the encoder."""
        self._fan_out(self.encoder.flush())
        closers = [self._closer(destination) for destination in self.destinations]
        self._destinations = {}
        for closer in closers:
            closer.start()
        for closer in [*closers, *self._retiring]:
            closer.join()
        self._retiring = []
        self.encoder.close()

    def _wait_for_senders(self) -> None:
        # A sender process spends a few hundred ms of CPU starting (Python and PyAV imports).
        # Waited for here, before the frame clock starts, it does not take a core from the
        # first frames of the stream (on 2 cores it made them late). An output added while on
        # air is not waited for: apply never blocks the render thread.
        deadline = time.monotonic() + SENDER_START_TIMEOUT
        for destination in self.destinations:
            if not destination.wait_started(max(0.0, deadline - time.monotonic())):
                log.warning("output %s: sender not started within %.0f s; streaming anyway",
                            destination.name, SENDER_START_TIMEOUT)

    def _add(self, target: OutputTarget) -> Destination:
        destination = Destination(target, self.encoder.info, deadline=self._deadline)
        destination.start()
        if self._opened:
            log.info("output %s added: it joins at the next keyframe", target.name)
        return destination

    def _retire(self, destination: Destination) -> None:
        # Destination.close waits for the trailer (up to CLOSE_TIMEOUT and then some): far
        # longer than a frame, so never on the render thread.
        self._retiring = [thread for thread in self._retiring if thread.is_alive()]
        closer = self._closer(destination)
        closer.start()
        self._retiring.append(closer)

    @staticmethod
    def _closer(destination: Destination) -> threading.Thread:
        return threading.Thread(target=destination.close, args=(CLOSE_TIMEOUT,),
                                name=f"closing {destination.name}", daemon=True)

    def _fan_out(self, packets: list[EncodedPacket]) -> None:
        destinations = self.destinations
        if not packets or not destinations:
            return
        batch = Batch.of(packets)
        for destination in destinations:
            destination.send(batch)
