"""Render benchmark: the reference scene through our compositor and encoder, beside FFmpeg.

Part 1 (per-frame CPU, like ../shared/bench/ffmpeg_peer.sh measures it): the scene of
../shared/bench/reference-scene.json, loaded through the project's own layer schema, at 30 fps
of scene time (so the clock layer changes every 30 frames, as in the peer):
- compositing;
- compositing plus the YUV 4:2:0 conversion the encoder needs;
- compositing plus encoding (libx264 veryfast/zerolatency, 2 s GOP, silent AAC);
each also "forced": the bottom layer moves every frame, so every frame is blended again from
the bottom (cached tiles, no damage tracking), to show what the frame caches save. CPU time is
process time (all threads, x264's included); the peer is timed as a whole process (children's
rusage) with its start-up (a 1-frame run) subtracted.

Part 2 (--sustain SECONDS): the real system, `python -m render` against a redis-server of its
own, recording the scene at --size (default 1920x1080) at 30 fps. It prints dropped frames and
the CPU the render worker and its sender used, as a share of the two cores.

Run from the repository root:

    .venv/bin/python -m bench.render [--frames 300] [--size 1280x720]
    .venv/bin/python -m bench.render --sustain 300 [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2

from bench.scene import SHARED_BENCH, create_scene, make_media, scene_layers
from render.compositor import Compositor
from render.encoder import Encoder

FPS = 30
GOAL_COMPOSITE_RATIO = 0.25
GOAL_ENCODE_RATIO = 0.8
GOAL_SUSTAIN_CORES = 0.6 * 2


def cpu_ms_per_frame(frames: int, work: Callable[[int], None]) -> float:
    """Process CPU milliseconds per frame of `work(index)` over `frames` frames (after 10
    warm-up frames that are not counted)."""
    for index in range(10):
        work(-10 + index)
    started = time.process_time()
    for index in range(frames):
        work(index)
    return (time.process_time() - started) * 1000 / frames


def our_figures(media: Path, frames: int, size: tuple[int, int]) -> dict[str, float]:
    """ms of CPU per frame for each stage, with and without the caches."""
    layers = scene_layers(size if size != (1280, 720) else None)
    start = time.time()
    figures = {}
    for forced in (False, True):
        suffix = " (forced)" if forced else ""  # every frame recomposed from the bottom

        def composite(index: int, compositor: Compositor, forced: bool = forced) -> Any:
            if forced:
                # The bottom layer moves a pixel every frame, so the whole stack is blended
                # again each frame (tiles stay cached: moving never re-rasterises).
                bottom = layers[0]
                layers[0] = replace(bottom, transform=replace(bottom.transform, x=index % 2))
            return compositor.compose(layers, [], start + index / FPS)

        compositor = Compositor(*size, media)
        figures["composite" + suffix] = cpu_ms_per_frame(
            frames, partial(composite, compositor=compositor))

        compositor = Compositor(*size, media)
        last: list[Any] = [None, None]

        def convert(index: int, c: Compositor = compositor, last: list[Any] = last) -> None:
            frame = composite(index, c)
            if frame is not last[0]:
                last[0], last[1] = frame, cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)

        figures["composite + YUV" + suffix] = cpu_ms_per_frame(frames, convert)

        compositor = Compositor(*size, media)
        encoder = Encoder(*size, FPS, 4_500_000, 128_000)
        def encode(index: int, c: Compositor = compositor, e: Encoder = encoder) -> None:
            e.encode(composite(index, c), index + 10)

        figures["composite + encode" + suffix] = cpu_ms_per_frame(frames, encode)
        encoder.close()
    return figures


def peer_figures(media: Path, frames: int) -> dict[str, float]:
    """The FFmpeg peer's CPU ms per frame, start-up subtracted."""
    def cpu_seconds(count: int, mode: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["sh", str(SHARED_BENCH / "ffmpeg_peer.sh"), str(media), str(count),
                        *([mode] if mode else [])], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    figures = {}
    for label, mode in (("composite", ""), ("composite + encode", "encode")):
        startup = cpu_seconds(1, mode)
        figures[label] = (cpu_seconds(frames, mode) - startup) * 1000 / (frames - 1)
    return figures


def print_part_one(ours: dict[str, float], peer: dict[str, float], size: str,
                   frames: int) -> None:
    """Our figures beside the peer's, as ratios, with the goals."""
    print(f"\nreference scene, {size}, {frames} frames at {FPS} fps of scene time, "
          "CPU ms per frame")
    print(f"{'stage':<30} {'ours':>8} {'ffmpeg':>8} {'ratio':>7}  goal")
    goals = {"composite": GOAL_COMPOSITE_RATIO, "composite + encode": GOAL_ENCODE_RATIO}
    for stage, value in ours.items():
        base = stage.removesuffix(" (forced)")
        peer_value = peer.get("composite" if base == "composite + YUV" else base)
        ratio = value / peer_value if peer_value else float("nan")
        goal = goals.get(stage)
        verdict = "" if goal is None else (
            f"<= {goal:.2f} x peer: {'met' if ratio <= goal else 'MISSED'}")
        print(f"{stage:<30} {value:8.3f} {peer_value:8.3f} {ratio:7.3f}  {verdict}")


def sustain(media: Path, seconds: float, size: tuple[int, int]) -> None:
    """Run the real render worker for `seconds` and report drops and CPU."""
    from core.config import load_settings
    from core.redis_client import connect
    from core.store import StateStore
    from tests.support.processes import Process, wait_until
    from tests.support.redis_server import RedisServer

    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    server = RedisServer(work / "redis").start()
    env = {**os.environ, "REDIS_URL": server.url, "REDIS_PREFIX": "bench:",
           "OUTPUT_WIDTH": str(size[0]), "OUTPUT_HEIGHT": str(size[1]),
           "RENDER_FPS": str(FPS), "MEDIA_ROOT": str(media), "RECORD": "on",
           "RECORDINGS_DIR": str(work / "recordings"), "RTMP_URL": "", "MAX_LAYERS": "64"}
    settings = load_settings(env)
    store = StateStore.from_settings(settings, connect(settings))
    create_scene(store, size)
    store.set_stream_state("bench-start", "start")
    render = Process([sys.executable, "-m", "render"], work / "render.log", env=env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    render.start()
    try:
        wait_until(lambda: store.live.telemetry()["frameCount"] > 0, 60, "the first frames")
        started = time.monotonic()
        first = store.live.telemetry()
        time.sleep(seconds)  # the measurement itself: a fixed stretch of streaming
        last = store.live.telemetry()
        wall = time.monotonic() - started
    finally:
        render.stop(timeout=30)
        server.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    frames = last["frameCount"] - first["frameCount"]
    dropped = last["droppedFrames"] - first["droppedFrames"]
    cores = cpu / wall  # start-up and shutdown included: a slight overestimate
    print(f"\nsustained {size[0]}x{size[1]} at {FPS} fps for {wall:.0f} s "
          f"(render worker + sender, recording):")
    print(f"frames {frames}, dropped {dropped}, measured fps {frames / wall:.2f}, "
          f"average render {last['averageRenderTime']:.2f} ms")
    met = cores < GOAL_SUSTAIN_CORES and not dropped
    print(f"CPU {cores:.2f} cores = {cores / 2 * 100:.1f}% of 2 cores "
          f"(goal: under 60% with 0 dropped: {'met' if met else 'MISSED'})")
    print(f"outputs: {last['outputs']}")


def parse_size(raw: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    width, _, height = raw.partition("x")
    return int(width), int(height)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=parse_size, default=None)
    parser.add_argument("--sustain", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as folder:
        media = Path(folder)
        make_media(media)
        if args.sustain:
            sustain(media, args.sustain, args.size or (1920, 1080))
            return
        size = args.size or (1280, 720)
        ours = our_figures(media, args.frames, size)
        peer = peer_figures(media, args.frames)
        print_part_one(ours, peer, f"{size[0]}x{size[1]}", args.frames)


if __name__ == "__main__":
    main()
