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

Part 3, the tween (issue 16; bench.tween has the scene and the moves): a 1280x240 banner
crosses the reference scene at 1280x720 every frame, a linear tween each way every 4 s.
- `--scene tween`: in this process as in part 1 (flat out on the scene's clock, process CPU),
  the crossings fed as layer events carrying a transition and an effectiveAt to the render
  worker's own scene (render.scene, whose tweens, render.tweens, place the banner each frame)
  and its compositor in YUV 4:2:0, then compositing alone and with encoding; with the banner
  just above the background (every layer above it blended again each frame) and on top.
  Beside ffmpeg_peer.sh with the banner as one more overlay at the same point of its graph,
  its x an expression of t making the same move. It prints the frames that moved (all of
  them, if the tween moves every frame) and those whose work took longer than 1/30 s.
- `--sustain SECONDS --tween under|top`: the real worker on the same scene, a window with the
  banner still (off screen), then one with it crossing, each crossing a batch through the
  store (a transition, effective at the crossing's instant, sent 0.5 s ahead as cues are):
  dropped frames and CPU of both windows, the recording's repeated frames in the second, and
  the ratio to the peer with encoding.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.render [--frames 300] [--size 1280x720]
        [--scene still|video|both|tween] [--frame-format yuv420p|bgr24]
    flock /tmp/test.lock .venv/bin/python -m bench.render --sustain 300 [--size 1920x1080]
        [--video | --tween under|top]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2

from bench.outputs import tree_cpu
from bench.scene import SHARED_BENCH, create_scene, make_media, scene_layers
from bench.sources import memory_mb
from bench.tween import (
    BANNER_SIZE,
    PLACES,
    Crossings,
    CrossingScene,
    band_repeats,
    banner_layer,
    peer_script,
    write_banner,
)
from bench.video import (
    ObservedSources,
    clip_for,
    repeats,
    source_processes,
    video_scene_layers,
)
from bench.worker import (
    describe_slow,
    measure_window,
    recorded_luma,
    recorded_thumbnails,
    running_worker,
)
from core.store import StateStore
from render.compositor import Compositor
from render.encoder import Encoder
from render.sources.spec import PixelFormat

FPS = 30
GOAL_COMPOSITE_RATIO = 0.25
GOAL_ENCODE_RATIO = 0.8
GOAL_VIDEO_RATIO, STRETCH_VIDEO_RATIO = 1.0, 0.8
GOAL_TWEEN_RATIO, STRETCH_TWEEN_RATIO = 1.0, 0.8
GOAL_SUSTAIN_CORES = 0.6 * 2
VIDEO_STAGES = ("composite", "composite + YUV", "composite + encode")
TWEEN_STAGES = ("composite", "composite + encode")
# The banner and the peer's overlay are laid out for the reference scene's own size.
TWEEN_SIZE = (1280, 720)
WARM_UP_FRAMES = 10
VIDEO_WARM_UP_FRAMES = 60


def cpu_ms_per_frame(frames: int, work: Callable[[int], None]) -> float:
    """Process CPU milliseconds per frame of `work(index)` over `frames` frames (after
    WARM_UP_FRAMES warm-up frames, indices below 0, that are not counted)."""
    for index in range(-WARM_UP_FRAMES, 0):
        work(index)
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


def peer_cpu_seconds(script: Path, media: Path, count: int, *extra: str) -> float:
    """CPU seconds of one run of a peer script (children's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["sh", str(script), str(media), str(count), *extra], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peer_ms_per_frame(script: Path, media: Path, frames: int, *extra: str) -> float:
    """A peer script's CPU ms per frame, its start-up (a 1-frame run) subtracted."""
    startup = peer_cpu_seconds(script, media, 1, *extra)
    return (peer_cpu_seconds(script, media, frames, *extra) - startup) * 1000 / (frames - 1)


def peer_figures(media: Path, frames: int) -> dict[str, float]:
    """The FFmpeg peer's CPU ms per frame, start-up subtracted."""
    script = SHARED_BENCH / "ffmpeg_peer.sh"
    return {"composite": peer_ms_per_frame(script, media, frames),
            "composite + encode": peer_ms_per_frame(script, media, frames, "encode")}


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
            verdict = ratio_verdict(ratio, GOAL_VIDEO_RATIO, STRETCH_VIDEO_RATIO)
        print(f"{stage:<20} {run.render_ms:7.2f} {run.source_ms:7.2f} {run.total_ms:7.2f} "
              f"{peer:7.2f} {ratio:6.3f} {run.repeats:>7} {run.late:>5}  {verdict}")


def ratio_verdict(ratio: float, goal: float, stretch: float) -> str:
    """Whether `ratio` to the peer meets the goal and its stretch, in words."""
    return (f"<= {goal:.1f} x peer (stretch {stretch}): "
            + ("met, stretch met" if ratio <= stretch else "met" if ratio <= goal else "MISSED"))


@dataclass(frozen=True)
class TweenRun:
    """One stage of the banner crossing the reference scene, over the measured frames."""

    ms: float  # process CPU per frame
    moved: int  # frames that differ from the one before (all, when it moves every frame)
    over_budget: int  # frames whose work took longer than a frame's time (1/FPS)


def tween_run(media: Path, frames: int, place: str, stage: str) -> TweenRun:
    """The banner crossing the reference scene at `place` through the render worker's scene
    (its events, deferred changes and tweens: render.scene, render.tweens) and compositor in
    YUV 4:2:0, then `stage`, flat out on the scene's clock."""
    compositor = Compositor(*TWEEN_SIZE, media, frame_format="yuv420p")
    encoder = (Encoder(*TWEEN_SIZE, FPS, 4_500_000, 128_000)
               if stage == "composite + encode" else None)
    crossings = CrossingScene(place, time.time(), FPS, origin=-WARM_UP_FRAMES)
    tally = {"moved": 0, "over": 0}
    last: list[Any] = [None]

    def work(index: int) -> None:
        began = time.perf_counter()
        frame = compositor.compose(crossings.layers_at(index), crossings.scene.chat,
                                   crossings.instant(index))
        if encoder is not None:
            encoder.encode(frame, index + WARM_UP_FRAMES)
        if index >= 0:
            tally["moved"] += frame is not last[0]
            tally["over"] += time.perf_counter() - began > 1 / FPS
        last[0] = frame

    try:
        ms = cpu_ms_per_frame(frames, work)
    finally:
        if encoder is not None:
            encoder.close()
    return TweenRun(ms, tally["moved"], tally["over"])


def tween_peer_script(media: Path, place: str) -> Path:
    """ffmpeg_peer.sh with the banner crossing at `place` (bench.tween.peer_script), written
    beside the media; its frame i shows the banner where our measured frame i does."""
    script = media / f"ffmpeg_peer_tween_{place}.sh"
    script.write_text(peer_script(place, -WARM_UP_FRAMES))
    return script


def tween_figures(media: Path, frames: int) -> None:
    """Ours and the peer's, every place and stage, printed side by side."""
    write_banner(media)
    print(f"\nthe banner ({BANNER_SIZE[0]}x{BANNER_SIZE[1]}) crossing the reference scene "
          f"every frame, {TWEEN_SIZE[0]}x{TWEEN_SIZE[1]}, {frames} frames at {FPS} fps of "
          "scene time, CPU ms per frame (ours: the render worker's scene and compositor in "
          "YUV 4:2:0; FFmpeg: overlay with x a function of t)")
    print(f"{'place':<6} {'stage':<20} {'ours':>7} {'ffmpeg':>7} {'ratio':>6} {'moved':>6} "
          f"{'>33ms':>6}  goal")
    for place in PLACES:
        script = tween_peer_script(media, place)
        for stage in TWEEN_STAGES:
            run = tween_run(media, frames, place, stage)
            extra = ("encode",) if stage == "composite + encode" else ()
            peer = peer_ms_per_frame(script, media, frames, *extra)
            ratio = run.ms / peer
            print(f"{place:<6} {stage:<20} {run.ms:7.3f} {peer:7.3f} {ratio:6.3f} "
                  f"{run.moved:>6} {run.over_budget:>6}  "
                  f"{ratio_verdict(ratio, GOAL_TWEEN_RATIO, STRETCH_TWEEN_RATIO)}")


def tween_sustain(media: Path, seconds: float, place: str, peer_frames: int) -> None:
    """The real render worker on the reference scene with the banner at `place`: a window
    with the banner still (off screen), then one with it crossing every frame, driven by
    batches with a transition through the store; beside the peer's same move."""
    write_banner(media)
    peer = peer_ms_per_frame(tween_peer_script(media, place), media, peer_frames, "encode")

    def setup(store: StateStore) -> None:
        create_scene(store)
        store.create_layer("bench-banner", banner_layer(place))

    work = Path(tempfile.mkdtemp(prefix="bench-tween-"))
    try:
        with running_worker(work, media, TWEEN_SIZE, setup) as worker:
            (banner_id,) = [layer.id for layer in worker.store.layers()
                            if layer.name == "banner"]
            still = measure_window(worker, seconds)
            first_at = time.time() + 1.0
            with Crossings(worker.store, banner_id, first_at) as crossings:
                time.sleep(max(0.0, first_at + 1 / FPS - time.time()))  # until it moves
                moving = measure_window(worker, seconds)
        recorded, repeated = band_repeats(recorded_luma(worker.recordings, moving))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nsustained: the reference scene and the banner ({place}), "
          f"{TWEEN_SIZE[0]}x{TWEEN_SIZE[1]} at {FPS} fps (render worker, its sender "
          "recording; CPU of both)")
    print(f"{'window':<16} {'seconds':>7} {'frames':>6} {'dropped':>7} {'ms/frame':>8} "
          f"{'cores':>5}  frames whose compositing and encoding took longer")
    for name, window in (("banner still", still), ("banner crossing", moving)):
        print(f"{name:<16} {window.seconds:7.1f} {window.frames:>6} {window.dropped:>7} "
              f"{window.ms_per_frame:8.2f} {window.cores:5.2f}  {describe_slow(window)}")
    ratio = moving.ms_per_frame / peer
    print(f"the crossing costs {moving.ms_per_frame - still.ms_per_frame:.2f} ms a frame; "
          f"FFmpeg's same move with encoding {peer:.2f} ms a frame ({peer_frames} frames flat "
          f"out, start-up subtracted): ratio {ratio:.3f}, "
          f"{ratio_verdict(ratio, GOAL_TWEEN_RATIO, STRETCH_TWEEN_RATIO)}; 0 dropped: "
          + ("met" if not moving.dropped else "MISSED"))
    print(f"crossings sent {crossings.sent}, failed {len(crossings.failures)} "
          f"{crossings.failures[:3]}; recording, the crossing window: {recorded} frames, "
          f"{repeated} whose banner band repeats the frame before")


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
    from bench.video import video_background

    clip = clip_for(media, size) if video else None
    memory: dict[int, tuple[float, float]] = {}
    with running_worker(work, media, size, lambda store: create_scene(
            store, size, video_background(clip, size) if clip else None)) as worker:
        window = measure_window(worker, seconds, lambda: memory.update(
            {each: memory_mb(each) for each in source_processes(worker.pid)}))
    frames, dropped, cores = window.frames, window.dropped, window.cores
    scene = f"the video scene ({clip})" if clip else "the reference scene"
    print(f"\nsustained {scene} at {size[0]}x{size[1]}, {FPS} fps, for {window.seconds:.0f} s "
          f"(render worker, its sender recording{', its source' if clip else ''}):")
    print(f"frames {frames}, dropped {dropped}, measured fps {frames / window.seconds:.2f}, "
          f"average render {window.last['averageRenderTime']:.2f} ms (last second)")
    verdict = "0 dropped: " + ("met" if not dropped else "MISSED")
    if not clip:
        met = cores < GOAL_SUSTAIN_CORES and not dropped
        verdict = f"under 60% with 0 dropped: {'met' if met else 'MISSED'}"
    print(f"CPU {window.ms_per_frame:.2f} ms a frame, {cores:.2f} cores = "
          f"{cores / 2 * 100:.1f}% of 2 cores ({window.processes} processes; goal: {verdict})")
    print(f"frames whose compositing and encoding took longer: {describe_slow(window)}")
    print(f"outputs: {window.last['outputs']}")
    if clip:
        for member, (rss, peak) in memory.items():
            print(f"source process {member}: {rss:.0f} MB resident at the end, "
                  f"peak {peak:.0f} MB (goal: under 150 MB)")
        recorded = recorded_thumbnails(worker.recordings, window)
        print(f"recording, the measured slots: {len(recorded)} frames, "
              f"{repeats(recorded)} repeating the frame before")


def parse_size(raw: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720)."""
    width, _, height = raw.partition("x")
    return int(width), int(height)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=parse_size, default=None)
    parser.add_argument("--scene", choices=("still", "video", "both", "tween"),
                        default="both", help="tween: the banner crossing the reference "
                        "scene every frame, at 1280x720 (not part of both)")
    parser.add_argument("--frame-format", choices=("yuv420p", "bgr24"), default="yuv420p",
                        help="what the compositor composites in: the render worker's yuv420p, "
                        "or bgr24 (converted before encoding, as before)")
    parser.add_argument("--sustain", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--video", action="store_true",
                        help="--sustain: the video scene (the background a video)")
    parser.add_argument("--tween", choices=tuple(PLACES), default=None, metavar="PLACE",
                        help="--sustain: the banner still for SECONDS, then crossing for "
                        f"SECONDS, at 1280x720; PLACE in the stack: {', '.join(PLACES)}")
    args = parser.parse_args()
    if args.tween and not args.sustain:
        parser.error("--tween goes with --sustain")
    if (args.scene == "tween" or args.tween) and args.size not in (None, TWEEN_SIZE):
        parser.error("the tween runs at the reference scene's size, 1280x720")
    with tempfile.TemporaryDirectory(prefix="bench-media-") as folder:
        media = Path(folder)
        make_media(media)
        if args.sustain and args.tween:
            tween_sustain(media, args.sustain, args.tween, args.frames)
            return
        if args.sustain:
            sustain(media, args.sustain, args.size or (1920, 1080), args.video)
            return
        if args.scene == "tween":
            tween_figures(media, args.frames)
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
            peer_video = peer_ms_per_frame(SHARED_BENCH / "ffmpeg_peer_video.sh", media,
                                           args.frames)
            print_video(runs, peer_video, label, args.frames)


if __name__ == "__main__":
    main()
