"""Outputs benchmark: what each extra RTMP output costs the render worker, beside FFmpeg.

Frames are encoded once and every packet goes to each output's sender process, so an extra
output should cost only the fan-out (a pipe write in the render process) and its sender's
muxing, not another encode. The goal: each extra output under 3% of one output's CPU per frame.

Ours: `python -m render` streams the reference scene at 1280x720, 30 fps, to 1, 2 and 4 RTMP
outputs (RTMP_URL, comma-separated, seeds them; RECORD off) on one nginx-rtmp on loopback,
one stream key per output. Each configuration runs its own render worker against a fresh
Redis prefix (outputs are seeded once per store). CPU is user + system time from /proc of the
render process, and of the render process plus its descendants (the sender processes and
multiprocessing's resource tracker), over a window that starts and ends on a telemetry
report, divided by the frames the telemetry's frameCount counted in it.

The peer: ../shared/bench/ffmpeg_peer.sh in encode mode with its output (one FLV file)
replaced by the tee muxer to 1, 2 and 4 RTMP outputs on the same nginx, so FFmpeg also
encodes once; timed as a whole process (children's rusage), its start-up (a 1-frame run to
the same outputs) subtracted, as bench/render.py does. It runs flat out, ours at 30 fps, and
it has no audio where ours sends silent AAC: compare the growth per output more than the
absolute figures.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.outputs [--seconds 20] [--outputs 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.preview import cpu_seconds, telemetry_edge
from bench.scene import ROOT, SHARED_BENCH, create_scene, make_media
from core.config import load_settings
from core.redis_client import connect
from core.store import StateStore
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.processes import Process, free_port, wait_until
from tests.support.redis_server import RedisServer

FPS = 30
GOAL_EXTRA_OUTPUT_SHARE = 0.03
WARM_UP_SECONDS = 3.0
# The peer's own output, replaced by a tee to the RTMP outputs (checked, so a change to the
# shared script stops the benchmark instead of silently measuring something else).
PEER_FILE_OUTPUT = "-f flv -y ${TMPDIR:-/tmp}/ffmpeg_peer_$$.flv"


@dataclass(frozen=True)
class OurRun:
    """One configuration of the render worker, measured over `frames` frames."""

    outputs: int
    frames: int
    seconds: float
    render_cpu: float  # seconds, the render process alone
    total_cpu: float  # seconds, render process plus its descendants
    descendants: int
    dropped: int
    states: tuple[str, ...]

    @property
    def render_ms(self) -> float:
        """Render process CPU ms per frame."""
        return self.render_cpu * 1000 / self.frames

    @property
    def total_ms(self) -> float:
        """Render process and sender processes CPU ms per frame."""
        return self.total_cpu * 1000 / self.frames


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, found through the parent pid in /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of `pid` and each of its live descendants."""
    figures = {}
    for member in [pid, *descendants(pid)]:
        try:
            figures[member] = cpu_seconds(member)
        except OSError:
            continue
    return figures


def measure_ours(count: int, ingest: NginxRtmp, redis_url: str, media: Path, work: Path,
                 seconds: float, label: str) -> OurRun:
    """Run a render worker streaming to `count` outputs and measure one window."""
    prefix = f"bench{label}:"
    urls = [ingest.url(f"ours-{label}-{number}") for number in range(count)]
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix, "OUTPUT_WIDTH": "1280",
           "OUTPUT_HEIGHT": "720", "RENDER_FPS": str(FPS), "MEDIA_ROOT": str(media),
           "RECORD": "off", "RTMP_URL": ",".join(urls), "MAX_LAYERS": "64",
           "RECORDINGS_DIR": str(work / "recordings"),
           "RENDER_METRICS_PORT": str(free_port())}
    settings = load_settings(env)
    store = StateStore.from_settings(settings, connect(settings))
    create_scene(store)
    store.set_stream_state(f"bench-start-{label}", "start")
    render = Process([sys.executable, "-m", "render"], work / f"render-{label}.log",
                     env={**os.environ, **env}, cwd=ROOT).start()
    assert render.popen is not None
    pid = render.popen.pid

    def all_live() -> bool:
        states = [output["state"] for output in store.live.telemetry()["outputs"]]
        return len(states) == count and all(state == "live" for state in states)

    try:
        try:
            wait_until(all_live, 60, f"{count} live outputs")
        except TimeoutError:
            raise SystemExit(f"bench.outputs: outputs never went live:\n{render.tail()}"
                             f"\n{ingest.log()}") from None
        time.sleep(WARM_UP_SECONDS)  # past connection set-up, before measuring
        started, first = telemetry_edge(store)
        before = tree_cpu(pid)
        time.sleep(seconds)  # the measurement itself: a fixed stretch of streaming
        ended, last = telemetry_edge(store)
        after = tree_cpu(pid)
    finally:
        render.stop(timeout=30)
    # A process that started inside the window counts from zero; one that ended inside it is
    # lost, so the count of descendants is printed (a reconnecting sender would show there).
    total = sum(cpu - before.get(member, 0.0) for member, cpu in after.items())
    return OurRun(
        outputs=count, frames=last["frameCount"] - first["frameCount"],
        seconds=ended - started, render_cpu=after[pid] - before[pid], total_cpu=total,
        descendants=len(after) - 1, dropped=last["droppedFrames"] - first["droppedFrames"],
        states=tuple(output["state"] for output in last["outputs"]))


def peer_script(urls: list[str]) -> str:
    """ffmpeg_peer.sh with its FLV file output replaced by a tee to `urls`."""
    script = (SHARED_BENCH / "ffmpeg_peer.sh").read_text()
    if PEER_FILE_OUTPUT not in script:
        raise SystemExit("bench.outputs: ffmpeg_peer.sh no longer writes "
                         f"{PEER_FILE_OUTPUT!r}; update PEER_FILE_OUTPUT")
    # The script expands $OUT unquoted: the tee list must hold no spaces (it runs in an empty
    # folder, so the [f=flv] brackets can match no file name either).
    tee = "|".join(f"[f=flv:onfail=abort]{url}" for url in urls)
    return script.replace(PEER_FILE_OUTPUT, f"-f tee {tee}")


def peer_ms_per_frame(count: int, ingest: NginxRtmp, media: Path, work: Path,
                      frames: int, label: str) -> float:
    """The FFmpeg peer's CPU ms per frame teeing to `count` RTMP outputs, start-up subtracted."""
    folder = work / f"peer-{label}"
    folder.mkdir()

    def cpu(run_frames: int, part: str) -> float:
        urls = [ingest.url(f"peer-{label}-{part}-{number}") for number in range(count)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(["sh", "-c", peer_script(urls), "ffmpeg_peer.sh", str(media),
                        str(run_frames), "encode"], check=True, cwd=folder)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    startup = cpu(1, "startup")
    return (cpu(frames, "run") - startup) * 1000 / (frames - 1)


def middle(runs: list[OurRun]) -> OurRun:
    """The run with the median CPU per frame (the lower one of an even count)."""
    return sorted(runs, key=lambda run: run.total_ms)[(len(runs) - 1) // 2]


def extra_share(figures: dict[int, float]) -> float:
    """What each output past the first costs, as a share of the one-output figure (from the
    largest configuration measured)."""
    most = max(figures)
    return (figures[most] - figures[1]) / (most - 1) / figures[1]


def report(ours: dict[int, OurRun], peer: dict[int, float], peer_frames: int) -> None:
    """The table side by side with the peer, the growth per output, and the goal."""
    print(f"\nreference scene, 1280x720 at {FPS} fps, RTMP outputs on one local nginx-rtmp; "
          f"CPU ms per frame (ours: {next(iter(ours.values())).frames} frames a window; "
          f"FFmpeg tee: {peer_frames} frames, start-up subtracted)")
    print(f"{'outputs':>7} {'render':>8} {'x 1 out':>7} {'+senders':>8} {'x 1 out':>7} "
          f"{'ffmpeg':>7} {'x 1 out':>7} {'ours/ffmpeg':>11} {'fps':>6} {'dropped':>7} "
          f"{'procs':>5}  states")
    one = ours[1]
    for count, run in ours.items():
        print(f"{count:>7} {run.render_ms:8.3f} {run.render_ms / one.render_ms:7.3f} "
              f"{run.total_ms:8.3f} {run.total_ms / one.total_ms:7.3f} {peer[count]:7.3f} "
              f"{peer[count] / peer[1]:7.3f} {run.total_ms / peer[count]:11.3f} "
              f"{run.frames / run.seconds:6.2f} {run.dropped:>7} {run.descendants:>5}  "
              f"{','.join(run.states)}")
    shares = {
        "render process": extra_share({n: run.render_ms for n, run in ours.items()}),
        "render + senders": extra_share({n: run.total_ms for n, run in ours.items()}),
        "FFmpeg tee": extra_share(peer),
    }
    print("each extra output, as a share of one output's CPU per frame: " + ", ".join(
        f"{name} {share * 100:.1f}%" for name, share in shares.items()))
    met = shares["render + senders"] < GOAL_EXTRA_OUTPUT_SHARE
    print(f"goal: under {GOAL_EXTRA_OUTPUT_SHARE * 100:.0f}% (render + senders): "
          f"{'met' if met else 'MISSED'}")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="measuring window per configuration")
    parser.add_argument("--outputs", default="1,2,4", help="output counts; 1 must be one")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every configuration this often, report the median")
    parser.add_argument("--peer-frames", type=int, default=600)
    args = parser.parse_args()
    counts = [int(part) for part in args.outputs.split(",")]
    if 1 not in counts or len(counts) < 2:
        parser.error("--outputs needs 1 and at least one larger count")

    with tempfile.TemporaryDirectory(prefix="bench-outputs-") as folder:
        work = Path(folder)
        media = work / "media"
        media.mkdir()
        make_media(media)
        server = RedisServer(work / "redis").start()
        ingest = NginxRtmp(work / "nginx").start()
        try:
            runs: dict[int, list[OurRun]] = {count: [] for count in counts}
            peers: dict[int, list[float]] = {count: [] for count in counts}
            for number in range(args.rounds):  # interleaved, so drift hits every count alike
                for count in counts:
                    label = f"{count}r{number}"
                    runs[count].append(measure_ours(count, ingest, server.url, media, work,
                                                    args.seconds, label))
                    peers[count].append(peer_ms_per_frame(count, ingest, media, work,
                                                          args.peer_frames, label))
        finally:
            ingest.stop()
            server.stop()
    ours = {count: middle(found) for count, found in runs.items()}
    peer = {count: statistics.median(found) for count, found in peers.items()}
    report(ours, peer, args.peer_frames)


if __name__ == "__main__":
    main()
