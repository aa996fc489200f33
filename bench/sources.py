"""Sources benchmark: what a source process costs, and what the render thread's calls cost.

Each case plays one file on the program clock, asking for its frame (and its sound, 1600
samples) once a program frame (30 fps) as the render thread does, for --seconds after a
warm-up, and prints:
- the source process's CPU per frame handed over (user + system time from /proc), decoding,
  scaling and converting to BGR included, and its resident memory (now and peak);
- the supervisor thread's CPU per frame (the render worker's share besides the calls);
- the render thread's calls: frame() median, p99 and slowest, audio() median and p99,
  status() slowest.

Cases: bg.mp4 of ../shared/bench (1280x720, 30 fps, AAC 48 kHz stereo) at its own size, and
the same with its sound removed (remuxed here: what decoding the sound costs); the same
scaled up to 1920x1080; a 1920x1080 30 fps clip at its own size (made here, like bg.mp4: a
scrolling picture, H.264 veryfast, a keyframe every 2 s); bed.m4a played audio-only (CPU per
second of sound).

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.sources [--seconds 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

from render.sources import Sources, SourceSpec

FPS = 30
SLOT_SAMPLES = 48000 // FPS
WARM_UP_SECONDS = 3.0


def main() -> None:
    """Run every case and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    # Imported here: every source process imports this module again (multiprocessing's spawn
    # runs the main module of `python -m`), and bench.scene brings the whole store; measured
    # at the top, the source processes would carry it (17 MB more each).
    from bench.scene import make_media

    with tempfile.TemporaryDirectory() as folder:
        media = Path(folder)
        make_media(media)
        full_hd = write_full_hd(media / "bg1080.mp4")
        silent = without_sound(media / "bg.mp4", media / "bg-silent.mp4")
        cases = [("bg.mp4 1280x720", media / "bg.mp4", None),
                 ("bg.mp4 1280x720, its sound removed", silent, None),
                 ("bg.mp4 scaled to 1920x1080", media / "bg.mp4", (1920, 1080)),
                 ("1920x1080 clip", full_hd, None)]
        for name, path, box in cases:
            play(name, path, box, args.seconds)
        hear("bed.m4a audio-only", media / "bed.m4a", args.seconds)


def play(name: str, path: Path, box: tuple[int, int] | None, seconds: float) -> None:
    """One case: play `path` for `seconds` (after a warm-up) and print the figures."""
    sources = Sources()
    width, height = box or (None, None)
    sources.sync({"bench": SourceSpec("file", str(path), width, height)})
    try:
        began = time.monotonic()
        while sources.frame("bench", 0.0) is None:
            time.sleep(0.01)
        child = next(p for p in multiprocessing.active_children() if p.name == "source bench")
        assert child.pid is not None
        supervisor = next(t for t in threading.enumerate() if t.name == "sources")
        calls: list[float] = []
        hearing: list[float] = []
        statuses: list[float] = []
        frames: set[int] = set()
        started = time.monotonic()
        measuring = False
        tick = 0
        while (now := time.monotonic()) < started + WARM_UP_SECONDS + seconds:
            if not measuring and now >= started + WARM_UP_SECONDS:
                measuring, frames = True, set()
                child_cpu, supervisor_cpu = cpu_seconds(child.pid), cpu_seconds(supervisor)
            before = time.perf_counter()
            frame = sources.frame("bench", now - began)
            middle = time.perf_counter()
            sources.audio("bench", now - began, SLOT_SAMPLES)
            heard = time.perf_counter()
            sources.status("bench")
            if measuring:
                calls.append(middle - before)
                hearing.append(heard - middle)
                statuses.append(time.perf_counter() - heard)
                if frame is not None:
                    frames.add(frame.seq)
            tick += 1
            time.sleep(max(0.0, started + tick / FPS - time.monotonic()))
        child_cpu = cpu_seconds(child.pid) - child_cpu
        supervisor_cpu = cpu_seconds(supervisor) - supervisor_cpu
        rss, peak = memory_mb(child.pid)
    finally:
        sources.close()
    calls.sort()
    hearing.sort()
    shown = max(1, len(frames))
    print(f"{name}: {shown} frames shown in {seconds:g} s; source process "
          f"{child_cpu / shown * 1000:.2f} ms CPU a frame, {rss:.0f} MB resident "
          f"(peak {peak:.0f} MB); supervisor thread {supervisor_cpu / shown * 1000:.3f} ms CPU "
          f"a frame; frame() median {statistics.median(calls) * 1e6:.0f} us, "
          f"p99 {calls[int(len(calls) * 0.99)] * 1e6:.0f} us, slowest {calls[-1] * 1e6:.0f} us; "
          f"audio() median {statistics.median(hearing) * 1e6:.0f} us, "
          f"p99 {hearing[int(len(hearing) * 0.99)] * 1e6:.0f} us; "
          f"status() slowest {max(statuses) * 1e6:.0f} us")


def hear(name: str, path: Path, seconds: float) -> None:
    """The audio-only case: read `path`'s sound a program frame at a time for `seconds`
    (after a warm-up) and print its process's CPU per second of sound."""
    sources = Sources()
    sources.sync({"bench": SourceSpec("file", str(path), None, None, audio_only=True)},
                  group="bed")
    try:
        while sources.audio("bench", 0.0, SLOT_SAMPLES) is None:
            time.sleep(0.01)
        child = next(p for p in multiprocessing.active_children() if p.name == "source bench")
        assert child.pid is not None
        calls: list[float] = []
        started = time.monotonic()
        child_cpu = cpu_seconds(child.pid)
        tick = 0
        while (now := time.monotonic()) < started + WARM_UP_SECONDS + seconds:
            if tick == round(WARM_UP_SECONDS * FPS):
                child_cpu = cpu_seconds(child.pid)
            before = time.perf_counter()
            sources.audio("bench", (now - started) % 18.0, SLOT_SAMPLES)  # the track is 20 s
            calls.append(time.perf_counter() - before)
            tick += 1
            time.sleep(max(0.0, started + tick / FPS - time.monotonic()))
        child_cpu = cpu_seconds(child.pid) - child_cpu
        rss, peak = memory_mb(child.pid)
    finally:
        sources.close()
    calls.sort()
    print(f"{name}: source process {child_cpu / seconds * 1000:.1f} ms CPU a second of sound, "
          f"{rss:.0f} MB resident (peak {peak:.0f} MB); audio() median "
          f"{statistics.median(calls) * 1e6:.0f} us, p99 {calls[int(len(calls) * 0.99)] * 1e6:.0f} "
          f"us")


def without_sound(path: Path, target: Path) -> Path:
    """`path` remuxed without its audio stream."""
    with av.open(str(path)) as source, av.open(str(target), "w") as copy:
        video = source.streams.video[0]
        stream = copy.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is not None:
                packet.stream = stream
                copy.mux(packet)
    return target


def cpu_seconds(of: int | threading.Thread) -> float:
    """User + system CPU seconds so far of a process, or of a thread of this one
    (/proc/<tid>/stat would give the whole process's)."""
    where = f"self/task/{of.native_id}" if isinstance(of, threading.Thread) else str(of)
    fields = Path(f"/proc/{where}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of `pid` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def write_full_hd(path: Path, seconds: int = 10) -> Path:
    """A 1920x1080 30 fps H.264 clip whose picture scrolls every frame (like bg.mp4)."""
    rows, columns = np.mgrid[0:1080, 0:1920]
    picture = np.zeros((1080, 1920, 3), np.uint8)
    picture[..., 0] = columns * 255 // 1919
    picture[..., 1] = rows * 255 // 1079
    picture[..., 2] = 96
    picture[::80, :] = picture[:, ::80] = 255
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={
            "preset": "veryfast", "g": str(2 * FPS), "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        for index in range(FPS * seconds):
            frame = av.VideoFrame.from_ndarray(np.roll(picture, index * 8, axis=1),
                                               format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


if __name__ == "__main__":
    main()
