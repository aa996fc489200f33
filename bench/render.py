"""Render benchmark: the reference scene through our compositor and encoder, beside FFmpeg.

Part 1 (per-frame CPU, like ../shared/bench/ffmpeg_peer.sh measures it): the scene of
../shared/bench/reference-scene.json, loaded through the project's own layer schema, at 30 fps
of scene time (so the clock layer changes every 30 frames, as in the peer):
- compositing;
- compositing plus the YUV 4:2:0 conversion the encoder needs (none when the compositor
  composites in YUV, as the render worker's does; `--frame-format bgr24` composites in BGR
  and converts, as before);
- compositing plus encoding (libx264 veryfast/zerolatency, 2 s GOP, silent AAC);
each also "forced": the bottom layer moves every frame, so every frame is blended again from
the bottom (cached tiles, no damage tracking), to show what the frame caches save. CPU time is
process time (all threads, x264's included); the peer is timed as a whole process (children's
rusage) with its start-up (a 1-frame run) subtracted.

The video reference scene (bench.video: the background replaced by a video layer of bg.mp4)
goes through the same stages beside ../shared/bench/ffmpeg_peer_video.sh. Here the frames are
paced as the render worker paces them, one every 1/30 s of wall time, with compose's `now`
on that grid: the video's position advances 1/30 s a frame, so each frame needs a new
picture from the source process, which decodes at most 3 frames ahead of what is on air. A
frame whose picture is the previous frame's counts as a repeat (the source fell behind);
what the render thread picked is seen through bench.video.ObservedSources. Our CPU is this
process (render thread, x264's threads, the sources' supervisor thread) plus the source
process, from /proc over the measured frames; the peer runs flat out as a whole process
(start-up subtracted), decoding, compositing in YUV and encoding AAC from the clip's sound
where we encode silence.

Part 2 (--sustain SECONDS): the real system, `python -m render` against a redis-server of its
own, recording the scene (with --video the video scene) at --size (default 1920x1080) at
30 fps. It prints dropped frames and the CPU of the render worker and its processes (sender,
source) between two telemetry reports, as ms per frame and as a share of the two cores; with
--video also the source process's memory (sampled every 5 s) and the frames of the recording
that repeat the one before.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.render [--frames 300] [--size 1280x720]
        [--scene still|video|both] [--frame-format yuv420p|bgr24]
    flock /tmp/test.lock .venv/bin/python -m bench.render --sustain 300 [--size 1920x1080]
        [--video]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.outputs import tree_cpu
from bench.scene import SHARED_BENCH, create_scene, make_media, scene_layers
from bench.sources import memory_mb
from bench.video import (
    ObservedSources,
    clip_for,
    repeats,
    source_processes,
    thumbnail,
    video_scene_layers,
)
from render.compositor import Compositor
from render.encoder import Encoder
from render.sources.spec import PixelFormat

FPS = 30
GOAL_COMPOSITE_RATIO = 0.25
GOAL_ENCODE_RATIO = 0.8
GOAL_VIDEO_RATIO, STRETCH_VIDEO_RATIO = 1.0, 0.8
GOAL_SUSTAIN_CORES = 0.6 * 2
VIDEO_STAGES = ("composite", "composite + YUV", "composite + encode")
VIDEO_WARM_UP_FRAMES = 60
SLOW_FRAME_SECONDS = (0.033, 0.05, 0.075)


def cpu_ms_per_frame(frames: int, work: Callable[[int], None]) -> float:
    """Process CPU milliseconds per frame of `work(index)` over `frames` frames (after 10
    warm-up frames that are not counted)."""
    for index in range(10):
        work(-10 + index)
    started = time.process_time()
    for index in range(frames):
        work(index)
    return (time.process_time() - started) * 1000 / frames


def to_yuv(frame: Any) -> Any:
    """The frame in I420, as the encoder takes it (a compositor in yuv420p made it so)."""
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)


def our_figures(media: Path, frames: int, size: tuple[int, int],
                frame_format: PixelFormat) -> dict[str, float]:
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

        compositor = Compositor(*size, media, frame_format=frame_format)
        figures["composite" + suffix] = cpu_ms_per_frame(
            frames, partial(composite, compositor=compositor))

        compositor = Compositor(*size, media, frame_format=frame_format)
        last: list[Any] = [None, None]

        def convert(index: int, c: Compositor = compositor, last: list[Any] = last) -> None:
            frame = composite(index, c)
            if frame is not last[0]:
                last[0], last[1] = frame, to_yuv(frame)

        figures["composite + YUV" + suffix] = cpu_ms_per_frame(frames, convert)

        compositor = Compositor(*size, media, frame_format=frame_format)
        encoder = Encoder(*size, FPS, 4_500_000, 128_000)
        def encode(index: int, c: Compositor = compositor, e: Encoder = encoder) -> None:
            e.encode(composite(index, c), index + 10)

        figures["composite + encode" + suffix] = cpu_ms_per_frame(frames, encode)
        encoder.close()
    return figures


@dataclass(frozen=True)
class VideoRun:
    """One stage of the video scene, per frame over the measured frames."""

    render_ms: float  # this process: render thread, x264's threads, the supervisor thread
    source_ms: float  # the source process
    repeats: int  # frames that showed the previous frame's picture again
    late: int  # frames that began after their slot (the pacing slipped)

    @property
    def total_ms(self) -> float:
        """Render and source process together."""
        return self.render_ms + self.source_ms


def video_run(media: Path, frames: int, size: tuple[int, int], stage: str,
              frame_format: PixelFormat) -> VideoRun:
    """The video scene through `stage`, paced at FPS, measured after a warm-up."""
    sources = ObservedSources()
    compositor = Compositor(*size, media, sources=sources, frame_format=frame_format)
    encoder = Encoder(*size, FPS, 4_500_000, 128_000)
    clip = clip_for(media, size)  # (written first if need be, before the clock starts)
    epoch, began = time.time(), time.monotonic()
    layers = video_scene_layers(clip, size, round(epoch * 1000))
    key = layers[0].id
    converted: list[Any] = [None]

    def work(index: int) -> int | None:
        """One frame at slot `index`; the seq of the video picture it shows."""
        frame = compositor.compose(layers, [], epoch + index / FPS)
        if stage == "composite + YUV" and frame is not converted[0]:
            converted[0] = frame
            to_yuv(frame)
        elif stage == "composite + encode":
            encoder.encode(frame, index)
        picked = sources.picked.get(key)
        return picked.seq if picked is not None else None

    pid = os.getpid()
    shown: int | None = None
    repeated = late = 0
    before: dict[int, float] = {}
    try:
        for index in range(VIDEO_WARM_UP_FRAMES + frames):
            if index == VIDEO_WARM_UP_FRAMES:
                before, repeated, late = tree_cpu(pid), 0, 0
            wait = began + index / FPS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                late += 1
            seq, shown = shown, work(index)
            repeated += seq == shown
        after = tree_cpu(pid)
        children = source_processes(pid)
    finally:
        compositor.close()
        encoder.close()
    if len(children) != 1:
        raise SystemExit(f"bench.render: expected one source process, found {children}")
    source = children[0]
    return VideoRun(render_ms=(after[pid] - before[pid]) * 1000 / frames,
                    source_ms=(after[source] - before[source]) * 1000 / frames,
                    repeats=repeated, late=late)


def peer_cpu_seconds(script: str, media: Path, count: int, *extra: str) -> float:
    """CPU seconds of one run of a peer script (children's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["sh", str(SHARED_BENCH / script), str(media), str(count), *extra],
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peer_ms_per_frame(script: str, media: Path, frames: int, *extra: str) -> float:
    """A peer script's CPU ms per frame, its start-up (a 1-frame run) subtracted."""
    startup = peer_cpu_seconds(script, media, 1, *extra)
    return (peer_cpu_seconds(script, media, frames, *extra) - startup) * 1000 / (frames - 1)


def peer_figures(media: Path, frames: int) -> dict[str, float]:
    """The FFmpeg peer's CPU ms per frame, start-up subtracted."""
    return {"composite": peer_ms_per_frame("ffmpeg_peer.sh", media, frames),
            "composite + encode": peer_ms_per_frame("ffmpeg_peer.sh", media, frames, "encode")}


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


def print_video(runs: dict[str, VideoRun], peer: float, size: str, frames: int) -> None:
    """The video scene's stages beside the peer (which always encodes), with the goal."""
    print(f"\nvideo reference scene, {size}, {frames} frames paced at {FPS} fps (the video "
          "advancing 1/30 s a frame), CPU ms per frame; FFmpeg: decode, composite, encode")
    print(f"{'stage':<20} {'render':>7} {'source':>7} {'ours':>7} {'ffmpeg':>7} {'ratio':>6} "
          f"{'repeats':>7} {'late':>5}  goal")
    for stage, run in runs.items():
        ratio = run.total_ms / peer
        verdict = ""
        if stage == "composite + encode":
            verdict = (f"<= {GOAL_VIDEO_RATIO:.1f} x peer (stretch {STRETCH_VIDEO_RATIO}): "
                       + ("met, stretch met" if ratio <= STRETCH_VIDEO_RATIO else
                          "met" if ratio <= GOAL_VIDEO_RATIO else "MISSED"))
        print(f"{stage:<20} {run.render_ms:7.2f} {run.source_ms:7.2f} {run.total_ms:7.2f} "
              f"{peer:7.2f} {ratio:6.3f} {run.repeats:>7} {run.late:>5}  {verdict}")


def sustain(media: Path, seconds: float, size: tuple[int, int], video: bool) -> None:
    """Run the real render worker for `seconds` and report drops, CPU and (video) memory."""
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        sustain_in(work, media, seconds, size, video)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the recording: 170 MB for 5 min at 1080p


def sustain_in(work: Path, media: Path, seconds: float, size: tuple[int, int],
               video: bool) -> None:
    """`sustain`, with the worker's Redis and recordings in `work`."""
    from bench.preview import telemetry_edge
    from bench.video import video_background
    from core.config import load_settings
    from core.redis_client import connect
    from core.store import StateStore
    from tests.support.processes import Process, free_port, wait_until
    from tests.support.redis_server import RedisServer

    server = RedisServer(work / "redis").start()
    env = {**os.environ, "REDIS_URL": server.url, "REDIS_PREFIX": "bench:",
           "OUTPUT_WIDTH": str(size[0]), "OUTPUT_HEIGHT": str(size[1]),
           "RENDER_FPS": str(FPS), "MEDIA_ROOT": str(media), "RECORD": "on",
           "RECORDINGS_DIR": str(work / "recordings"), "RTMP_URL": "", "MAX_LAYERS": "64",
           "RENDER_METRICS_PORT": str(free_port())}
    settings = load_settings(env)
    store = StateStore.from_settings(settings, connect(settings))
    clip = clip_for(media, size) if video else None
    create_scene(store, size, video_background(clip, size) if clip else None)
    store.set_stream_state("bench-start", "start")
    render = Process([sys.executable, "-m", "render"], work / "render.log", env=env).start()
    assert render.popen is not None
    pid = render.popen.pid
    memory: dict[int, tuple[float, float]] = {}
    try:
        wait_until(lambda: store.live.telemetry()["frameCount"] > FPS, 60, "the first second")
        started, first = telemetry_edge(store)
        before, slow_before = tree_cpu(pid), slow_frames(env["RENDER_METRICS_PORT"])
        while time.monotonic() < started + seconds:  # the measurement: a stretch of streaming
            time.sleep(min(5.0, max(0.0, started + seconds - time.monotonic())))
            memory.update({each: memory_mb(each) for each in source_processes(pid)})
        ended, last = telemetry_edge(store)
        after, slow_after = tree_cpu(pid), slow_frames(env["RENDER_METRICS_PORT"])
    finally:
        render.stop(timeout=30)
        server.stop()
    wall = ended - started
    cpu = sum(value - before.get(member, 0.0) for member, value in after.items())
    frames = last["frameCount"] - first["frameCount"]
    dropped = last["droppedFrames"] - first["droppedFrames"]
    cores = cpu / wall
    scene = f"the video scene ({clip})" if clip else "the reference scene"
    print(f"\nsustained {scene} at {size[0]}x{size[1]}, {FPS} fps, for {wall:.0f} s "
          f"(render worker, its sender recording{', its source' if clip else ''}):")
    print(f"frames {frames}, dropped {dropped}, measured fps {frames / wall:.2f}, "
          f"average render {last['averageRenderTime']:.2f} ms (last second)")
    verdict = "0 dropped: " + ("met" if not dropped else "MISSED")
    if not clip:
        met = cores < GOAL_SUSTAIN_CORES and not dropped
        verdict = f"under 60% with 0 dropped: {'met' if met else 'MISSED'}"
    print(f"CPU {cpu * 1000 / frames:.2f} ms a frame, {cores:.2f} cores = "
          f"{cores / 2 * 100:.1f}% of 2 cores ({len(after)} processes; goal: {verdict})")
    print("frames whose compositing and encoding took longer: " + ", ".join(
        f"{bound * 1000:g} ms {count - slow_before[bound]}"
        for bound, count in slow_after.items()))
    print(f"outputs: {last['outputs']}")
    if clip:
        for member, (rss, peak) in memory.items():
            print(f"source process {member}: {rss:.0f} MB resident at the end, "
                  f"peak {peak:.0f} MB (goal: under 150 MB)")
        recorded = recorded_thumbnails(work / "recordings", first["frameCount"],
                                       last["frameCount"])
        print(f"recording, the measured slots: {len(recorded)} frames, "
              f"{repeats(recorded)} repeating the frame before")


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


def recorded_thumbnails(folder: Path, first: int, last: int) -> list[Any]:
    """Thumbnails of the luma of the recorded frames of slots first..last (the slot is the
    pts), read in place from each decoded frame: converting every frame to a new BGR array
    while keeping the thumbnails left the heap in pieces that were never given back (5.5 GB
    for a minute of 1080p, 23 GB for five)."""
    import av

    (path,) = folder.glob("*.mkv")
    found = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            slot = round(frame.time * FPS) if frame.time is not None else -1
            if first <= slot < last:
                plane = frame.planes[0]
                rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
                found.append(thumbnail(rows[:frame.height, :frame.width]))
    return found


def parse_size(raw: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    width, _, height = raw.partition("x")
    return int(width), int(height)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=parse_size, default=None)
    parser.add_argument("--scene", choices=("still", "video", "both"), default="both")
    parser.add_argument("--frame-format", choices=("yuv420p", "bgr24"), default="yuv420p",
                        help="what the compositor composites in: the render worker's yuv420p, "
                        "or bgr24 (converted before encoding, as before)")
    parser.add_argument("--sustain", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--video", action="store_true",
                        help="--sustain: the video scene (the background a video)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as folder:
        media = Path(folder)
        make_media(media)
        if args.sustain:
            sustain(media, args.sustain, args.size or (1920, 1080), args.video)
            return
        size = args.size or (1280, 720)
        label = f"{size[0]}x{size[1]}, compositing in {args.frame_format}"
        if args.scene in ("still", "both"):
            ours = our_figures(media, args.frames, size, args.frame_format)
            peer = peer_figures(media, args.frames)
            print_part_one(ours, peer, label, args.frames)
        if args.scene in ("video", "both"):
            runs = {stage: video_run(media, args.frames, size, stage, args.frame_format)
                    for stage in VIDEO_STAGES}
            peer_video = peer_ms_per_frame("ffmpeg_peer_video.sh", media, args.frames)
            print_video(runs, peer_video, label, args.frames)


if __name__ == "__main__":
    main()
