"""Preview benchmark: latency from the render worker producing a frame to a WebSocket client
receiving it, with 1, 10 and 50 clients at medium quality, and the render fps meanwhile.

The real system parts, each its own process: a redis-server, `python -m render` streaming the
reference scene (1280x720 at 30 fps, recorded), and the preview process run by its
supervisord command (gunicorn, gthread). The clients are WebSocket readers in this process.
Each JPEG carries the time the render worker produced it (its stamp comment), so latency is
the client's clock at receipt minus that stamp (one machine, one clock).

Beside each run, measured at the same time: a plain Redis subscriber to the same channel,
which is what the frames' path costs without the preview process (its lower bound); and the
run with no client, whose render fps is the baseline that the others must keep.

Run from the repository root:

    .venv/bin/python -m bench.preview [--seconds 20] [--clients 1,10,50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from bench.scene import ROOT, create_scene, make_media
from core.config import Settings, load_settings
from core.keys import Keys
from core.preview_frames import read_stamp
from core.redis_client import connect
from core.store import StateStore
from tests.support.preview import PreviewClient, PreviewServer
from tests.support.processes import Process, wait_until
from tests.support.redis_server import RedisServer

QUALITY = "medium"
GOAL_P95_MS = 100.0
WARM_UP_SECONDS = 3.0


class Latencies:
    """Latencies (ms) of frames received inside the measuring window, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: list[float] = []
        self.measuring = False

    def add(self, jpeg: bytes, received_at: float) -> None:
        if self.measuring:
            produced_at, _sequence = read_stamp(jpeg)
            with self._lock:
                self._values.append((received_at - produced_at) * 1000.0)

    def summary(self) -> tuple[int, float, float]:
        """(count, p50, p95) in ms."""
        with self._lock:
            values = sorted(self._values)
        if len(values) < 2:
            return len(values), float("nan"), float("nan")
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return len(values), cuts[49], cuts[94]


class RedisSubscriber(threading.Thread):
    """The reference path: the same frames straight from Redis pub/sub."""

    def __init__(self, settings: Settings, latencies: Latencies) -> None:
        super().__init__(daemon=True)
        self._client = connect(settings, binary=True)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(Keys(settings.redis_prefix).preview_frames(QUALITY))
        self._latencies = latencies
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                self._latencies.add(message["data"], time.time())

    def stop(self) -> None:
        self._stopping.set()
        self.join(2)
        self._pubsub.close()
        self._client.close()


def telemetry_edge(store: StateStore) -> tuple[float, dict]:
    """The render worker's telemetry the moment it is next rewritten, and that moment: frame
    counts are only as fresh as the last report (STATE_UPDATE_DEBOUNCE), so fps is taken
    between two reports' arrival, not between two arbitrary readings."""
    before = store.live.telemetry()["frameCount"]

    def rewritten() -> dict | None:
        report = store.live.telemetry()
        return report if report["frameCount"] != before else None

    report = wait_until(rewritten, 10, "a telemetry report", interval=0.01)
    return time.monotonic(), report


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(clients: int, seconds: float, store: StateStore, settings: Settings,
            preview: PreviewServer, render_pid: int) -> dict[str, float]:
    """One run: `clients` readers (and the Redis reference) for `seconds`."""
    ours, reference = Latencies(), Latencies()
    readers = [PreviewClient(preview.url(quality=QUALITY), on_frame=ours.add)
               for _ in range(clients)]
    subscriber = RedisSubscriber(settings, reference)
    subscriber.start()
    try:
        if readers:
            wait_until(lambda: all(r.received.last_frame for r in readers), 30, "frames")
        time.sleep(WARM_UP_SECONDS)  # past connection set-up, before measuring
        started, first = telemetry_edge(store)
        ours.measuring = reference.measuring = True
        render_cpu, preview_cpu = cpu_seconds(render_pid), cpu_seconds(preview.worker_pid())
        time.sleep(seconds)  # the measurement itself: a fixed stretch of streaming
        ended, last = telemetry_edge(store)
        wall = ended - started
        render_cpu = cpu_seconds(render_pid) - render_cpu
        preview_cpu = cpu_seconds(preview.worker_pid()) - preview_cpu
        ours.measuring = reference.measuring = False
        client_fps = [r.frames_between(started, started + wall) / wall for r in readers]
    finally:
        subscriber.stop()
        for reader in readers:
            reader.close()
    count, p50, p95 = ours.summary()
    _ref_count, ref_p50, ref_p95 = reference.summary()
    return {
        "clients": clients, "frames": count, "p50": p50, "p95": p95,
        "ref_p50": ref_p50, "ref_p95": ref_p95,
        "client_fps": min(client_fps) if client_fps else float("nan"),
        "render_fps": (last["frameCount"] - first["frameCount"]) / wall,
        "dropped": last["droppedFrames"] - first["droppedFrames"],
        "render_cores": render_cpu / wall, "preview_cores": preview_cpu / wall,
    }


def report(runs: list[dict[str, float]], preview_fps: int) -> None:
    """The table, and the goals against it."""
    print(f"\npreview latency, render -> WebSocket client, quality {QUALITY} "
          f"(PREVIEW_FPS {preview_fps}); reference: a plain Redis subscriber, same run")
    print(f"{'clients':>7} {'frames':>7} {'p50 ms':>7} {'p95 ms':>7} {'ref p50':>8} "
          f"{'ref p95':>8} {'min client fps':>14} {'render fps':>10} {'dropped':>7} "
          f"{'render cores':>12} {'preview cores':>13}")
    for run in runs:
        print(f"{run['clients']:>7} {run['frames']:>7} {run['p50']:>7.1f} {run['p95']:>7.1f} "
              f"{run['ref_p50']:>8.1f} {run['ref_p95']:>8.1f} {run['client_fps']:>14.1f} "
              f"{run['render_fps']:>10.2f} {run['dropped']:>7} {run['render_cores']:>12.2f} "
              f"{run['preview_cores']:>13.2f}")
    baseline = runs[0]["render_fps"]
    widest = runs[-1]
    p95_met = widest["p95"] <= GOAL_P95_MS
    fps_kept = all(run["render_fps"] >= baseline * 0.99 and run["dropped"] == 0
                   for run in runs)
    print(f"goal p95 <= {GOAL_P95_MS:.0f} ms with {widest['clients']} clients: "
          f"{widest['p95']:.1f} ms, {'met' if p95_met else 'MISSED'}")
    print(f"goal render fps unchanged from the no-client run ({baseline:.2f}), no drops: "
          f"{'met' if fps_kept else 'MISSED'}")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", default="1,10,50")
    args = parser.parse_args()
    counts = [0, *(int(part) for part in args.clients.split(","))]

    work = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    media = work / "media"
    media.mkdir()
    make_media(media)
    server = RedisServer(work / "redis").start()
    env = {"REDIS_URL": server.url, "REDIS_PREFIX": "bench:", "OUTPUT_WIDTH": "1280",
           "OUTPUT_HEIGHT": "720", "RENDER_FPS": "30", "MEDIA_ROOT": str(media),
           "RECORD": "on", "RECORDINGS_DIR": str(work / "recordings"), "RTMP_URL": "",
           "MAX_LAYERS": "64"}
    settings = load_settings(env)
    store = StateStore.from_settings(settings, connect(settings))
    create_scene(store)
    store.set_stream_state("bench-start", "start")
    render = Process([sys.executable, "-m", "render"], work / "render.log",
                     env={**os.environ, **env}, cwd=ROOT).start()
    preview = PreviewServer(env, work).start()
    try:
        wait_until(lambda: store.live.telemetry()["frameCount"] > 0, 60, "the first frames")
        assert render.popen is not None
        runs = [measure(count, args.seconds, store, settings, preview, render.popen.pid)
                for count in counts]
    finally:
        preview.stop()
        render.stop(timeout=30)
        server.stop()
    report(runs, settings.preview_fps)


if __name__ == "__main__":
    try:
        main()
    except redis.RedisError as exc:
        raise SystemExit(f"bench.preview: Redis failed: {exc}") from None
