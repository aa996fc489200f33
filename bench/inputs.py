"""Inputs benchmark: how long an input's picture takes from its source process to the encoder,
and what the source process of an input costs.

A real publisher pushes a stream into a local nginx-rtmp; the reference scene with its
background replaced by an input layer pulling that stream (the whole program) goes through our
Compositor and Encoder, paced at 30 fps as the render worker paces them. For each new picture
of the input that a frame shows, the latency is the moment that frame is handed to the encoder
minus `SourceFrame.decoded_at`, when the source process had finished the picture (both
time.monotonic(), one clock for every process of the machine). It covers the handover through
shared memory, the supervisor thread, the jitter buffer (30 ms) and the wait for the next
output slot; what the network and the decoder took before is not in it. Printed: p50, p95 and
max, the pictures shown of those decoded, the source process's CPU per picture and its memory
(resident at the end and peak).

Cases:
- the tests' camera (tests/support/publisher.py: 320x180 at 30 fps, H.264 zerolatency, a
  keyframe every 0.5 s), scaled to 1280x720 in the source process, on a 1280x720 program;
- a 1920x1080 30 fps stream (bench.video's 1080p clip pushed by `ffmpeg -re -c copy`, a
  keyframe every 2 s) at its own size on a 1920x1080 program.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.inputs [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.layers import Layer
    from tests.support.processes import Process
    from tests.support.publisher import Publisher

FPS = 30
GOAL_P95_SECONDS = 0.1
GOAL_RSS_MB = 150
WARM_UP_SECONDS = 3.0


def main() -> None:
    """Run both cases and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    # Imported here, not at the top: every source process imports this module again
    # (multiprocessing's spawn runs the main module of `python -m`), and these bring the
    # compositor, the store and the test support, which would inflate its memory.
    from bench.scene import make_media
    from bench.video import FULL_HD, clip_for
    from tests.support.nginx_rtmp import NginxRtmp
    from tests.support.processes import Process
    from tests.support.publisher import Publisher

    with tempfile.TemporaryDirectory(prefix="bench-inputs-") as folder:
        work = Path(folder)
        media = work / "media"
        media.mkdir()
        make_media(media)
        full_hd = media / clip_for(media, FULL_HD)
        ingest = NginxRtmp(work / "nginx").start()
        try:
            camera = Publisher(ingest.url("camera"), work / "camera.log")
            measure("the tests' camera, 320x180 scaled to 1280x720", camera, ingest.url("camera"),
                    (1280, 720), media, args.seconds)
            url = ingest.url("full-hd")
            pusher = Process(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                              "-stream_loop", "-1", "-i", str(full_hd), "-c", "copy", "-f",
                              "flv", url], work / "ffmpeg.log")
            measure("a 1920x1080 stream at its own size", pusher, url, FULL_HD, media,
                    args.seconds)
        finally:
            ingest.stop()


def measure(name: str, publisher: Publisher | Process, url: str, size: tuple[int, int],
            media: Path, seconds: float) -> None:
    """One case: publish, pull it as the input background, measure, print."""
    from bench.outputs import tree_cpu
    from bench.sources import memory_mb
    from bench.video import ObservedSources, describe_ms, percentile, source_processes
    from render.compositor import Compositor
    from render.encoder import Encoder

    sources = ObservedSources()
    # As the render worker composites: in I420, the source handing its pictures over in I420.
    compositor = Compositor(*size, media, sources=sources, frame_format="yuv420p")
    encoder = Encoder(*size, FPS, 4_500_000, 128_000)
    layers = input_scene(url, size)
    key = layers[0].id
    latencies: list[float] = []
    seqs: list[int] = []  # the pictures shown, by their number (one per picture handed over)
    publisher.start()
    pid = os.getpid()
    try:
        epoch, began = time.time(), time.monotonic()
        index, measuring_from = 0, 0.0
        before: dict[int, float] = {}
        while not measuring_from or time.monotonic() < measuring_from + seconds:
            time.sleep(max(0.0, began + index / FPS - time.monotonic()))
            frame = compositor.compose(layers, [], epoch + index / FPS)
            picked = sources.picked.get(key)
            handed = time.monotonic()
            encoder.encode(frame, index)
            index += 1
            if picked is None:
                continue
            if not measuring_from:
                if handed - began > WARM_UP_SECONDS:
                    measuring_from, before, seqs = handed, tree_cpu(pid), [picked.seq]
            elif picked.seq != seqs[-1]:
                seqs.append(picked.seq)
                latencies.append(handed - picked.decoded_at)
        after = tree_cpu(pid)
        (source,) = source_processes(pid)
        rss, peak = memory_mb(source)
    finally:
        compositor.close()
        encoder.close()
        publisher.stop()
    if not latencies:
        raise SystemExit(f"bench.inputs: {name}: no new picture of the input was shown")
    decoded = seqs[-1] - seqs[0]
    cpu_ms = (after[source] - before[source]) * 1000 / decoded
    p95 = percentile(latencies, 0.95)
    print(f"\n{name}, {seconds:g} s at {FPS} fps:")
    print(f"source process to encoder: {describe_ms(latencies)} over {len(latencies)} "
          f"pictures shown of {decoded} handed over (goal p95 <= "
          f"{GOAL_P95_SECONDS * 1000:.0f} ms: {'met' if p95 <= GOAL_P95_SECONDS else 'MISSED'})")
    print(f"source process: {cpu_ms:.2f} ms CPU a picture, {rss:.0f} MB resident, peak "
          f"{peak:.0f} MB (goal under {GOAL_RSS_MB} MB: "
          f"{'met' if peak < GOAL_RSS_MB else 'MISSED'})")


def input_scene(url: str, size: tuple[int, int]) -> list[Layer]:
    """The reference scene with its background replaced by an input layer pulling `url`."""
    from dataclasses import replace

    from bench.scene import scene_layers
    from core.layers import load_new_layer

    layers = scene_layers(size)
    camera = load_new_layer({
        "name": "camera", "type": "input", "zIndex": 0, "content": {"url": url},
        "transform": {"x": 0, "y": 0, "width": size[0], "height": size[1]}})
    layers[0] = replace(layers[0], type=camera.type, name=camera.name,
                        content=camera.content, transform=camera.transform)
    return layers


if __name__ == "__main__":
    main()
