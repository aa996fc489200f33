"""Sources whose every render-thread call is timed, for tests with real source processes::

    timed = TimedSources()
    timed.sync({"clip": SourceSpec("file", path, None, None)})
    timed.frame_until("clip", 1.0, lambda frame: frame.time >= 1.0)
    timed.audio("clip", 1.0, 1600)
    print(timed.check_calls())   # asserts every call was quick; the figures

`closed_sources()` is the body of a fixture (closed after the test, nothing left in /dev/shm
or running); `cameras()` the body of one that starts test cameras (tests.support.publisher).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy

from render.sources import SourceFrame, Sources, SourceSpec, SourceStatus
from tests.support.clips import picture_number
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.publisher import Publisher

# What "never blocks" means: every call the render thread makes does little work (its CPU
# time), and none waits (its wall time; a wait for a source would last a timeout, seconds,
# while two busy cores may keep a runnable thread off the CPU for a few ms).
MOST_CPU_PER_CALL = 0.002
MOST_WALL_PER_CALL = 0.05


class TimedSources:
    """Sources whose every call is timed (wall and CPU time)."""

    def __init__(self) -> None:
        self.sources = Sources()
        self.walls: list[float] = []
        self.cpus: list[float] = []

    def check_calls(self) -> str:
        """Assert every call was quick; the figures, for the test's output."""
        walls = sorted(self.walls)
        figures = (f"{len(walls)} calls: median {walls[len(walls) // 2] * 1e3:.3f} ms, "
                   f"p99 {walls[int(len(walls) * 0.99)] * 1e3:.2f} ms, slowest "
                   f"{walls[-1] * 1e3:.2f} ms (CPU {max(self.cpus) * 1e3:.2f} ms)")
        assert max(self.cpus) < MOST_CPU_PER_CALL, figures
        assert walls[-1] < MOST_WALL_PER_CALL, figures
        return figures

    def sync(self, wanted: dict[str, SourceSpec], group: str = "layers") -> None:
        self._timed(self.sources.sync, wanted, group)

    def frame(self, key: str, position: float | None = None) -> SourceFrame | None:
        return self._timed(self.sources.frame, key, position)

    def audio(self, key: str, position: float | None, count: int) -> numpy.ndarray | None:
        return self._timed(self.sources.audio, key, position, count)

    def status(self, key: str) -> SourceStatus:
        status = self._timed(self.sources.status, key)
        assert status is not None
        return status

    def frame_until(self, key: str, position: float | None,
                    check: Callable[[SourceFrame], bool], timeout: float = 5.0) -> SourceFrame:
        """Ask for `position` every 2 ms until the frame passes `check`."""
        deadline = time.monotonic() + timeout
        frame = None
        while time.monotonic() < deadline:
            frame = self.frame(key, position)
            if frame is not None and check(frame):
                return frame
            time.sleep(0.002)
        shown = (frame.time, picture_number(frame.image)) if frame else None
        raise TimeoutError(f"{key} at {position}: showing {shown}; {self.status(key)}")

    def _timed(self, call: Callable[..., Any], *args: object) -> Any:
        began, cpu = time.perf_counter(), time.thread_time()
        result = call(*args)
        self.walls.append(time.perf_counter() - began)
        self.cpus.append(time.thread_time() - cpu)
        return result


def closed_sources() -> Iterator[TimedSources]:
    """TimedSources, closed afterwards; nothing of theirs is left in /dev/shm or running."""
    # As the render worker does once started (render/__main__.py): what exists by now is
    # frozen, so a collector pass during a timed call walks the test's new objects only, not
    # pytest's and every imported module's (a pass over those costs milliseconds of CPU that
    # are not the call's).
    gc.collect()
    gc.freeze()
    timed = TimedSources()
    try:
        yield timed
    finally:
        gc.unfreeze()
    timed.sources.close()
    assert not [name for name in os.listdir("/dev/shm") if name.startswith(f"sm{os.getpid()}_")]
    assert not [child for child in multiprocessing.active_children()
                if child.name.startswith("source ")]


def cameras(nginx_rtmp: NginxRtmp, folder: Path) -> Iterator[Callable[..., Publisher]]:
    """A factory of test cameras publishing to `nginx_rtmp` (`start(key, beep=False)`), all
    stopped afterwards."""
    started: list[Publisher] = []

    def start(key: str, beep: bool = False) -> Publisher:
        log = folder / f"{key}-{len(started)}.log"
        started.append(Publisher(nginx_rtmp.url(key), log, beep=beep).start())
        return started[-1]

    yield start
    for publisher in started:
        publisher.stop()
