"""Metrics benchmark: what observability costs the processes that do the work.

1. In-process, per unit of work: the render thread's observations per frame (against the
   33 ms budget of a 30 fps frame), and a timed Redis client against a plain one, on the same
   redis-server in the same run (the API's per-command overhead).
2. The whole system as `make run` starts it, streaming the reference scene at 720p30 (recorded):
   the scrape time and size of every metrics endpoint, and the render fps while all of them
   are scraped ten times a second (forty times Prometheus' usual rate) against a window
   without scrapes.

Run from the repository root:

    .venv/bin/python -m bench.metrics [--seconds 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.scene import create_scene, make_media
from core.config import load_settings
from core.redis_client import connect
from core.store import StateStore
from render.metrics import RenderMetrics
from tests.support.processes import wait_until
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack

FRAME_BUDGET_US = 1e6 / 30
SCRAPES = 40


def per_frame_cost_us(frames: int = 200_000) -> float:
    """Microseconds the render thread spends on metrics for one frame (plus one raster)."""
    metrics = RenderMetrics()
    started = time.perf_counter()
    for _ in range(frames):
        metrics.observe_frame(0.004, 0)
        metrics.observe_raster("text", 0.001)
    return (time.perf_counter() - started) / frames * 1e6


def redis_overhead(workdir: Path, commands: int = 20_000) -> tuple[float, float]:
    """Mean microseconds per GET with a plain client and with the timed one."""
    server = RedisServer(workdir).start()
    try:
        settings = load_settings({"REDIS_URL": server.url})
        plain = connect(settings)
        timed = connect(settings, observe=lambda _command, _seconds: None)
        wait_until(plain.ping, 10, "redis")
        results = []
        for client in (plain, timed, plain, timed):
            started = time.perf_counter()
            for _ in range(commands):
                client.get("bench:key")
            results.append((time.perf_counter() - started) / commands * 1e6)
        return min(results[0], results[2]), min(results[1], results[3])
    finally:
        server.stop()


def render_fps(stack: Stack, seconds: float) -> float:
    """Frames streamed per second over `seconds`, from the active render's own counter."""
    def frames() -> float:
        for url in list(stack.metrics_urls().values())[1:3]:
            text = requests.get(url, timeout=5).text
            if "stream_manager_render_active 1.0" in text:
                line = next(line for line in text.splitlines()
                            if line.startswith("stream_manager_render_frames_total "))
                return float(line.split()[1])
        raise RuntimeError("no active render instance")

    first, started = frames(), time.monotonic()
    time.sleep(seconds)  # the measuring window
    return (frames() - first) / (time.monotonic() - started)


def scrape_times(stack: Stack) -> dict[str, tuple[float, float, int]]:
    """Per endpoint: p50 and max scrape ms over SCRAPES scrapes, and the size in bytes."""
    figures = {}
    for name, url in stack.metrics_urls().items():
        auth = stack.flower_auth if name == "flower" else None
        times, size = [], 0
        for _ in range(SCRAPES):
            started = time.perf_counter()
            size = len(requests.get(url, timeout=5, auth=auth).content)
            times.append((time.perf_counter() - started) * 1000)
        figures[name] = (statistics.median(times), max(times), size)
    return figures


def scraping(stack: Stack, stop: threading.Event) -> None:
    urls = stack.metrics_urls()
    while not stop.is_set():
        for name, url in urls.items():
            requests.get(url, timeout=5, auth=stack.flower_auth if name == "flower" else None)
        stop.wait(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as temp:
        workdir = Path(temp)
        frame_us = per_frame_cost_us()
        plain_us, timed_us = redis_overhead(workdir / "redis")
        print(f"render thread, metrics per frame: {frame_us:.2f} us "
              f"({frame_us / FRAME_BUDGET_US * 100:.3f}% of a 30 fps frame)")
        print(f"Redis GET, plain client {plain_us:.1f} us, timed client {timed_us:.1f} us "
              f"(ratio {timed_us / plain_us:.3f})")

        (workdir / "data" / "media").mkdir(parents=True)
        make_media(workdir / "data" / "media")
        stack = Stack(workdir / "data", env={"RECORD": "on"}).start()
        try:
            settings = load_settings({**stack.env})
            store = StateStore.from_settings(settings, connect(settings))
            create_scene(store)
            requests.post(f"{stack.url}/stream/start", timeout=10).raise_for_status()
            wait_until(lambda: render_fps(stack, 1.0) > 25, 60, "streaming")
            quiet = render_fps(stack, args.seconds)
            stop = threading.Event()
            scraper = threading.Thread(target=scraping, args=(stack, stop), daemon=True)
            scraper.start()
            busy = render_fps(stack, args.seconds)
            stop.set()
            scraper.join()
            figures = scrape_times(stack)
        finally:
            stack.stop()
    print(f"\nrender fps over {args.seconds:g} s: {quiet:.2f} unscraped, {busy:.2f} with every "
          f"endpoint scraped 10 times a second (ratio {busy / quiet:.3f})")
    print("\n| endpoint | scrape p50 ms | max ms | bytes |\n|---|---|---|---|")
    for name, (p50, worst, size) in figures.items():
        print(f"| {name} | {p50:.1f} | {worst:.1f} | {size} |")


if __name__ == "__main__":
    main()
