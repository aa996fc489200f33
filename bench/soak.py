"""Soak benchmark: 24/7 traffic against the system as `make run` starts it, and what every
process's resident memory does meanwhile.

The whole system runs from deploy/run.sh under supervisord (API, preview, Celery worker, beat,
Flower, two render instances, Redis), on free ports in a temporary folder. The reference scene
streams live to a local nginx-rtmp; one PATCH a second moves the scene's text layer and a chat
message is posted every two seconds (--speed multiplies both rates, to find a leak sooner).

Every process's RSS (each supervisord program and each of its children: gunicorn workers,
render senders) is sampled every --every seconds. It prints, per process, the RSS after the
first minute (imports, caches and pools are warm by then) and at the end, the growth between
them in %, and the least-squares slope over the samples; then when frames were dropped.

Run from the repository root:

    .venv/bin/python -m bench.soak [--minutes 15] [--speed 1] [--every 10]
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.api import Client
from bench.system import reference_system
from core.config import load_settings
from core.redis_client import connect
from tests.support.processes import wait_until
from tests.support.stack import Stack

GOAL_GROWTH_PERCENT = 1.0
_ID = re.compile(r"[0-9a-f]{12,}|[0-9a-f-]{36}")
WARM_UP_SECONDS = 60.0


@dataclass
class Series:
    """One process's RSS samples, (seconds since the traffic started, MB)."""

    name: str
    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)

    def at_or_after(self, seconds: float) -> tuple[float, float] | None:
        """The first sample taken at or after `seconds`."""
        return next((sample for sample in self.samples if sample[0] >= seconds), None)

    def slope_mb_per_hour(self, after: float) -> float:
        """Least-squares slope of the samples taken after `after` seconds."""
        points = [(t, mb) for t, mb in self.samples if t >= after]
        if len(points) < 2:
            return 0.0
        mean_t = sum(t for t, _ in points) / len(points)
        mean_mb = sum(mb for _, mb in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        return 3600 * sum((t - mean_t) * (mb - mean_mb) for t, mb in points) / spread


def rss_mb(pid: int) -> float | None:
    """Resident set size of `pid` in MB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> Iterator[int]:
    """Every descendant of `pid`, depth first (a child belongs to the thread that made it, so
    every thread's list is read: the render worker spawns its senders from output threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += (task / "children").read_text().split()
        except OSError:
            continue
    for child in sorted(map(int, found)):
        yield child
        yield from children(child)


def processes(stack: Stack) -> dict[int, str]:
    """pid -> a readable name, for every program supervisord runs and its children."""
    named = {}
    for line in stack.supervisorctl("status").splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "RUNNING" and parts[2] == "pid":
            program, pid = parts[0].split(":")[-1], int(parts[3].rstrip(","))
            named[pid] = program
            for number, child in enumerate(children(pid), start=1):
                named[child] = f"{program} child {number}"
    return named


def redis_census(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """Key group (ids replaced by *) -> (keys, bytes as MEMORY USAGE counts them)."""
    groups: dict[str, tuple[int, int]] = {}
    for key in client.scan_iter(count=1000):
        name = ":".join("*" if _ID.fullmatch(part) else part for part in key.split(":"))
        keys, size = groups.get(name, (0, 0))
        groups[name] = (keys + 1, size + (client.memory_usage(key) or 0))
    return groups


def drive(url: str, speed: float, stop: threading.Event, counts: dict[str, int]) -> None:
    """One PATCH a second and a chat message every two (times `speed`) until `stop`."""
    with Client(url, None) as client:
        _, layers = client.call("GET", "/stream/layers")
        text = next(layer for layer in layers if layer["type"] == "text")
        started, tick = time.monotonic(), 0
        while not stop.is_set():
            status, _ = client.call("PATCH", f"/stream/layers/{text['id']}",
                                    {"transform": {"x": 60 + tick % 40}})
            counts[f"PATCH {status}"] = counts.get(f"PATCH {status}", 0) + 1
            if tick % 2 == 0:
                status, _ = client.call("POST", "/stream/chat",
                                        {"author": "soak", "message": f"message {tick}"})
                counts[f"chat {status}"] = counts.get(f"chat {status}", 0) + 1
            tick += 1
            stop.wait(max(0.0, started + tick / speed - time.monotonic()))


def dropped_frames(url: str) -> int:
    """droppedFrames as GET /stream/status reports it."""
    with Client(url, None) as client:
        status, body = client.call("GET", "/stream/status")
        return int(body["droppedFrames"]) if status == 200 else -1


def soak(stack: Stack, minutes: float, speed: float, every: float) -> None:
    """Stream, drive the traffic and sample memory; print the table."""
    client = connect(load_settings({**stack.env}))
    with Client(stack.url, None) as api:
        api.call("POST", "/stream/start")
    wait_until(lambda: _streaming(stack.url), 60, "the stream on air")
    series = {pid: Series(name, pid) for pid, name in processes(stack).items()}
    drops: list[tuple[float, int]] = []
    censuses: list[dict[str, tuple[int, int]]] = []
    stop = threading.Event()
    counts: dict[str, int] = {}
    driver = threading.Thread(target=drive, args=(stack.url, speed, stop, counts), daemon=True)
    started = time.monotonic()
    driver.start()
    try:
        while (elapsed := time.monotonic() - started) < minutes * 60:
            for pid, line in series.items():
                if (mb := rss_mb(pid)) is not None:
                    line.samples.append((elapsed, mb))
            drops.append((elapsed, dropped_frames(stack.url)))
            if not censuses and elapsed >= WARM_UP_SECONDS:
                censuses.append(redis_census(client))
            time.sleep(every)  # the sampling period
        censuses.append(redis_census(client))
    finally:
        stop.set()
        driver.join(15)
    print(f"\nsoak: {minutes:g} min, {speed:g} PATCH/s and {speed / 2:g} chat messages/s; "
          "answers: " + ", ".join(f"{key}: {n}" for key, n in sorted(counts.items())))
    report_memory(series, processes(stack))
    report_redis(censuses)
    report_drops(drops)


def _streaming(url: str) -> bool:
    with Client(url, None) as client:
        status, body = client.call("GET", "/stream/status")
    return status == 200 and body["fps"] > 25 and all(
        output["state"] == "live" for output in body["outputs"])


def report_memory(series: dict[int, Series], still_running: dict[int, str]) -> None:
    """RSS after the first minute and at the end, growth and slope, per process."""
    print(f"\n| process | pid | RSS (MB) at {WARM_UP_SECONDS:.0f} s | half-way | at the end | "
          "growth | slope (MB/h) |\n|---|---|---|---|---|---|---|")
    worst = 0.0
    for line in sorted(series.values(), key=lambda line: line.name):
        first = line.at_or_after(WARM_UP_SECONDS)
        if first is None or not line.samples or line.pid not in still_running:
            print(f"| {line.name} | {line.pid} | - | - | - | exited or replaced | - |")
            continue
        last = line.samples[-1][1]
        middle = line.at_or_after((first[0] + line.samples[-1][0]) / 2) or first
        growth = (last - first[1]) / first[1] * 100
        worst = max(worst, growth)
        print(f"| {line.name} | {line.pid} | {first[1]:.1f} | {middle[1]:.1f} | {last:.1f} | "
              f"{growth:+.2f}% | {line.slope_mb_per_hour(WARM_UP_SECONDS):+.1f} |")
    verdict = "met" if worst < GOAL_GROWTH_PERCENT else "MISSED"
    print(f"\nlargest growth after the first minute: {worst:+.2f}% "
          f"(goal: under {GOAL_GROWTH_PERCENT:g}% for every process: {verdict})")


def report_redis(censuses: list[dict[str, tuple[int, int]]]) -> None:
    """What Redis holds after the first minute and at the end, by key group."""
    if len(censuses) < 2:
        return
    first, last = censuses[0], censuses[-1]
    print("\n| Redis key group | keys at start | at end | KB at start | at end |"
          "\n|---|---|---|---|---|")
    for name in sorted(set(first) | set(last)):
        (keys_a, bytes_a), (keys_b, bytes_b) = first.get(name, (0, 0)), last.get(name, (0, 0))
        print(f"| {name} | {keys_a} | {keys_b} | {bytes_a / 1024:.0f} | {bytes_b / 1024:.0f} |")
    print("(state the design keeps: command outcomes for COMMAND_TTL, the events stream up to "
          "EVENTS_MAXLEN)")


def report_drops(drops: list[tuple[float, int]]) -> None:
    """Dropped frames when the traffic started, at the end, and when they rose."""
    if not drops:
        return
    rises = [(t, n) for (t, n), (_, before) in zip(drops[1:], drops, strict=False)
             if n != before]
    print(f"\ndropped frames: {drops[0][1]} before the traffic started (start-up), "
          f"{drops[-1][1]} at the end; rises at "
          + (", ".join(f"{t:.0f} s (to {n})" for t, n in rises) or "no time"))


def main() -> None:
    """Start the system and nginx-rtmp in a temporary folder, soak, stop everything."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="traffic multiplier: PATCHes per second (chat at half that)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    with reference_system("soak") as stack:
        soak(stack, args.minutes, args.speed, args.every)


if __name__ == "__main__":
    main()
