"""Fixtures for the render tests: a real nginx-rtmp, players that pull from it, and a feeder
that pushes encoded frames to destinations at the real frame rate in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest

from core.outputs import OutputTarget
from render.encoder import Encoder, StreamInfo
from render.outputs import Destination
from render.outputs.packets import Batch
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player

WIDTH, HEIGHT, FPS = 320, 180, 30
RED_BGR = (0, 0, 255)


@pytest.fixture
def nginx_rtmp(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A fresh nginx-rtmp on a free port, stopped after the test."""
    server = NginxRtmp(tmp_path / "nginx").start()
    yield server
    server.stop()


@pytest.fixture
def player() -> Iterator[Callable[..., Player]]:
    """Factory of started Players (`measure` looks at every frame); all are closed after the
    test."""
    players: list[Player] = []

    def make(url: str, **options: Any) -> Player:
        players.append(Player(url, **options).start())
        return players[-1]

    yield make
    for each in players:
        each.close()


class Feeder:
    """Encodes a solid frame at FPS in a thread and sends every packet to the destinations.

    It times every `send()` call and samples each destination's state once a frame, so a
    test can assert on the slowest call and on the states it went through.
    """

    def __init__(self, encoder: Encoder, destinations: list[Destination]) -> None:
        self.encoder = encoder
        self.destinations = destinations
        self.frame = numpy.full((encoder.info.height, encoder.info.width, 3), RED_BGR,
                                numpy.uint8)
        self.slowest_send = 0.0
        self.states: dict[str, list[str]] = {d.name: [] for d in destinations}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> Feeder:
        """Start feeding."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop feeding and send what the encoder still holds."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(10)
            self._send(self.encoder.flush())

    def saw(self, destination: Destination, state: str) -> bool:
        """True once `destination` was seen in `state`."""
        return state in self.states[destination.name]

    def _run(self) -> None:
        started = time.monotonic()
        slot = 0
        while not self._stop.is_set():
            self._send(self.encoder.encode(self.frame, slot))
            for destination in self.destinations:
                history = self.states[destination.name]
                state = destination.status()["state"]
                if not history or history[-1] != state:
                    history.append(state)
            slot += 1
            self._stop.wait(max(0.0, started + slot / self.encoder.info.fps - time.monotonic()))

    def _send(self, packets: list) -> None:
        if not packets:
            return
        batch = Batch.of(packets)  # as the pipeline does: packed once for every destination
        for destination in self.destinations:
            began = time.perf_counter()
            destination.send(batch)
            self.slowest_send = max(self.slowest_send, time.perf_counter() - began)


@pytest.fixture
def destination() -> Iterator[Callable[..., Destination]]:
    """Factory: destination(target, **options) starts a Destination; closed after the test."""
    made: list[Destination] = []

    def make(target: OutputTarget, **options: object) -> Destination:
        made.append(Destination(target, StreamInfo(WIDTH, HEIGHT, FPS), **options))
        made[-1].start()
        return made[-1]

    yield make
    for each in made:
        each.close(timeout=3)


@pytest.fixture
def feeder(destination: Callable[..., Destination]) -> Iterator[Callable[..., Feeder]]:
    """Factory: feeder(destinations) starts a Feeder; stopped (before the destinations close)
    after the test."""
    feeders: list[Feeder] = []

    def make(destinations: list[Destination], bitrate: int = 800_000) -> Feeder:
        encoder = Encoder(WIDTH, HEIGHT, FPS, bitrate, 96_000)
        feeders.append(Feeder(encoder, destinations).start())
        return feeders[-1]

    yield make
    for each in feeders:
        each.stop()
