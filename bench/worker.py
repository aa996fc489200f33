"""The real render worker for the sustained benchmarks: `python -m render` against a
redis-server of its own, recording at 30 fps, and windows of streaming measured on it.

A window starts and ends on a telemetry report (frame counts are only as fresh as the last
one) and counts the CPU of the render worker and every process below it (sender, sources)
from /proc, the frames and dropped frames from the telemetry, and the frames that took longer
than SLOW_FRAME_SECONDS from the worker's frame-time histogram.
"""

from __future__ import annotations

import os
import re
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.outputs import tree_cpu
from bench.preview import telemetry_edge
from bench.video import thumbnail
from core.config import load_settings
from core.redis_client import connect
from core.store import StateStore
from tests.support.processes import Process, free_port, wait_until
from tests.support.redis_server import RedisServer

FPS = 30
SLOW_FRAME_SECONDS = (0.033, 0.05, 0.075)


@dataclass(frozen=True)
class Worker:
    """A render worker streaming: its store, process and where it reports."""

    store: StateStore
    pid: int
    metrics_port: str
    recordings: Path


@dataclass(frozen=True)
class Window:
    """A stretch of streaming, measured."""

    seconds: float
    first: dict[str, Any]  # the telemetry report it started on
    last: dict[str, Any]  # the one it ended on
    cpu: float  # seconds, the worker and the processes below it
    processes: int
    slow: dict[float, int]  # frames over each of SLOW_FRAME_SECONDS

    @property
    def frames(self) -> int:
        """Frames the worker counted."""
        return int(self.last["frameCount"] - self.first["frameCount"])

    @property
    def dropped(self) -> int:
        """Frames it dropped."""
        return int(self.last["droppedFrames"] - self.first["droppedFrames"])

    @property
    def ms_per_frame(self) -> float:
        """CPU ms a frame."""
        return self.cpu * 1000 / self.frames

    @property
    def cores(self) -> float:
        """CPU seconds per second."""
        return self.cpu / self.seconds


@contextmanager
def running_worker(work: Path, media: Path, size: tuple[int, int],
                   setup: Callable[[StateStore], None]) -> Iterator[Worker]:
    """A render worker (and its Redis in `work`) streaming what `setup` put in the store,
    from its first second on; stopped on leaving."""
    server = RedisServer(work / "redis").start()
    env = {**os.environ, "REDIS_URL": server.url, "REDIS_PREFIX": "bench:",
           "OUTPUT_WIDTH": str(size[0]), "OUTPUT_HEIGHT": str(size[1]),
           "RENDER_FPS": str(FPS), "MEDIA_ROOT": str(media), "RECORD": "on",
           "RECORDINGS_DIR": str(work / "recordings"), "RTMP_URL": "", "MAX_LAYERS": "64",
           "RENDER_METRICS_PORT": str(free_port())}
    settings = load_settings(env)
    store = StateStore.from_settings(settings, connect(settings))
    setup(store)
    store.set_stream_state("bench-start", "start")
    render = Process([sys.executable, "-m", "render"], work / "render.log", env=env).start()
    assert render.popen is not None
    try:
        wait_until(lambda: store.live.telemetry()["frameCount"] > FPS, 60, "the first second")
        yield Worker(store, render.popen.pid, env["RENDER_METRICS_PORT"], work / "recordings")
    finally:
        render.stop(timeout=30)
        server.stop()


def measure_window(worker: Worker, seconds: float,
                   every_5s: Callable[[], None] | None = None) -> Window:
    """A window of `seconds` of streaming (`every_5s` called meanwhile)."""
    started, first = telemetry_edge(worker.store)
    before, slow_before = tree_cpu(worker.pid), slow_frames(worker.metrics_port)
    while time.monotonic() < started + seconds:
        time.sleep(min(5.0, max(0.0, started + seconds - time.monotonic())))
        if every_5s is not None:
            every_5s()
    ended, last = telemetry_edge(worker.store)
    after, slow_after = tree_cpu(worker.pid), slow_frames(worker.metrics_port)
    # A process that started inside the window counts from zero.
    cpu = sum(value - before.get(member, 0.0) for member, value in after.items())
    return Window(ended - started, first, last, cpu, len(after),
                  {bound: count - slow_before[bound] for bound, count in slow_after.items()})


def describe_slow(window: Window) -> str:
    """The window's frames over each of SLOW_FRAME_SECONDS, as "33 ms 0, 50 ms 0, ..."."""
    return ", ".join(
        f"{bound * 1000:g} ms {count}" for bound, count in window.slow.items())


def slow_frames(port: str) -> dict[float, int]:
    """How many frames so far took longer than each of SLOW_FRAME_SECONDS to composite and
    encode, from the render worker's frame-time histogram."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    buckets = {float(bound): float(count) for bound, count in re.findall(
        r'^stream_manager_render_frame_seconds_bucket\{le="([0-9.e+-]+)"\} (\S+)$', text,
        re.MULTILINE)}
    total = float(re.findall(r"^stream_manager_render_frame_seconds_count (\S+)$", text,
                             re.MULTILINE)[0])
    return {bound: round(total - buckets[bound]) for bound in SLOW_FRAME_SECONDS}


def recorded_thumbnails(folder: Path, window: Window) -> list[Any]:
    """Thumbnails of the luma of the recorded frames of the window's slots."""
    return [thumbnail(luma) for luma in recorded_luma(folder, window)]


def recorded_luma(folder: Path, window: Window) -> Iterator[np.ndarray]:
    """The luma of each recorded frame of the window's slots (the slot is the pts), in order:
    a view of the decoded frame, good until the next is read. Converting every frame to a
    new BGR array while keeping something of each left the heap in pieces that were never
    given back (5.5 GB for a minute of 1080p, 23 GB for five)."""
    import av

    first, last = window.first["frameCount"], window.last["frameCount"]
    (path,) = folder.glob("*.mkv")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            slot = round(frame.time * FPS) if frame.time is not None else -1
            if first <= slot < last:
                plane = frame.planes[0]
                rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
                yield rows[:frame.height, :frame.width]
