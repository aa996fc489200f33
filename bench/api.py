"""Admin API benchmark: PATCH /stream/layers/<id> and POST /stream/batch end to end.

Every PATCH goes through the real system as `make run` starts it: gunicorn → the Flask view →
a Celery task on queue `control` → the store in Redis → the answer back to the client. Phases:

1. warm-up: sequential PATCHes, not reported;
2. latency: one client, sequential PATCHes on a keep-alive session → p50/p90/p99/max;
3. throughput: N client threads, each with its own session and its own layer, for a fixed
   time → sustained 200 answers per second, latency under load, non-200 answers;
4. batches: one client, rounds of a PATCH, a batch of 20 updates (each moving one of 20
   layers, no transition: the PATCH's work twenty times in one command) and a mixed batch of
   20 (4 creates, 12 updates, the 4 layers the previous round created deleted, with a 500 ms
   transition), one after another on one session, so drift hits all three alike →
   p50/p95/p99 of each and the ratio to the PATCH;
5. correctness: every layer's final version is 1 + the PATCHes and updates answered 200 on it.

202 answers (the worker did not finish within COMMAND_TIMEOUT) count as not done.

Run from the repository root (starts its own stack on free ports in a temporary folder):

    .venv/bin/python -m bench.api [--clients 8] [--seconds 10] [--batches 300]
    .venv/bin/python -m bench.api --url http://127.0.0.1:4200   # a system already running
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

GOAL_P50_MS = 15.0
GOAL_P99_MS = 50.0
GOAL_UPDATES_PER_S = 300.0
GOAL_BATCH_P50_MS = 20.0
BATCH_SIZE = 20
MIXED_CREATES = 4  # and as many deletes; the rest of the mixed batch updates
MIXED_TRANSITION = {"durationMs": 500, "easing": "easeInOut"}
TIMEOUT_S = 10.0
NEW_LAYER = {"type": "color", "transform": {"x": 0, "y": 0, "width": 100, "height": 100},
             "content": {"color": "#ff0000"}}


@dataclass
class Target:
    """One layer driven by one client at a time, with the tally needed to check it."""

    layer_id: str
    done: int = 0
    next_x: int = 1
    statuses: Counter[int] = field(default_factory=Counter)


class Client:
    """A keep-alive HTTP/1.1 connection. http.client rather than requests: the client shares
    the two cores with the system under test, and requests costs several times more CPU."""

    def __init__(self, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "localhost", parts.port,
                                                      timeout=TIMEOUT_S)
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON or None); status 0 when the connection failed."""
        try:
            payload = None if body is None else json.dumps(body)
            self._connection.request(method, path, payload, self._headers)
            response = self._connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()  # reconnects on the next request
            return 0, None
        return response.status, json.loads(data) if data else None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.close()


def create_layer(client: Client) -> Target:
    """POST a small colour layer and return it as a target."""
    status, body = client.call("POST", "/stream/layers", NEW_LAYER)
    if status != 201:
        raise RuntimeError(f"creating a layer answered {status}: {body}")
    return Target(body["id"])


def patch_once(client: Client, target: Target) -> float:
    """One PATCH moving the layer (x always changes); tallies the status, returns seconds."""
    x, target.next_x = target.next_x, target.next_x % 10_000 + 1
    started = time.perf_counter()
    status, _ = client.call("PATCH", f"/stream/layers/{target.layer_id}",
                            {"transform": {"x": x}})
    elapsed = time.perf_counter() - started
    target.statuses[status] += 1
    target.done += status == 200
    return elapsed


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of `samples` (seconds) in milliseconds."""
    ordered = sorted(samples)
    return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def sequential(url: str, token: str | None, target: Target, count: int) -> list[float]:
    """`count` PATCHes one after another on one keep-alive session."""
    with Client(url, token) as client:
        return [patch_once(client, target) for _ in range(count)]


def concurrent(url: str, token: str | None, targets: list[Target],
               seconds: float) -> tuple[list[float], float]:
    """One thread per target patching it until the deadline; (latencies, elapsed seconds)."""
    samples: list[list[float]] = [[] for _ in targets]
    start = threading.Barrier(len(targets) + 1)
    deadline = 0.0

    def client(target: Target, out: list[float]) -> None:
        with Client(url, token) as connection:
            start.wait()
            while time.perf_counter() < deadline:
                out.append(patch_once(connection, target))

    threads = [threading.Thread(target=client, args=(t, out), daemon=True)
               for t, out in zip(targets, samples, strict=True)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + 2 * TIMEOUT_S)
    return [x for out in samples for x in out], time.perf_counter() - began


def final_version(url: str, token: str | None, target: Target) -> int:
    """The layer's version as the API reports it now."""
    with Client(url, token) as client:
        status, body = client.call("GET", f"/stream/layers/{target.layer_id}")
        if status != 200:
            raise RuntimeError(f"reading layer {target.layer_id} answered {status}")
        return int(body["version"])


@dataclass
class BatchRounds:
    """The batch phase's latencies (seconds) and the tally of its answers."""

    patch: list[float] = field(default_factory=list)
    updates: list[float] = field(default_factory=list)
    mixed: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    layers: int = 0  # on air during the phase


def batch_once(client: Client, operations: list[dict[str, Any]],
               transition: dict[str, Any] | None, rounds: BatchRounds,
               moved: list[Target]) -> float:
    """One POST /stream/batch that moves the `moved` targets (among its operations); tallies
    the status, returns seconds."""
    body: dict[str, Any] = {"operations": operations}
    if transition:
        body["transition"] = transition
    started = time.perf_counter()
    status, answer = client.call("POST", "/stream/batch", body)
    elapsed = time.perf_counter() - started
    rounds.statuses[status] += 1
    if status not in (200, 202):
        raise RuntimeError(f"a batch answered {status}: {answer}")
    for target in moved:
        target.done += status == 200
    return elapsed


def made_in(number: int) -> list[str]:
    """The ids of the layers round `number`'s mixed batch creates."""
    return [f"mixed-{number}-{index}" for index in range(MIXED_CREATES)]


def create(layer_id: str) -> dict[str, Any]:
    """A batch operation creating a small colour layer with this id."""
    return {"op": "create", "layer": {**NEW_LAYER, "id": layer_id}}


def move(target: Target) -> dict[str, Any]:
    """A batch operation moving the target (x always changes)."""
    x, target.next_x = target.next_x, target.next_x % 10_000 + 1
    return {"op": "update", "id": target.layer_id, "changes": {"transform": {"x": x}}}


def batches(url: str, token: str | None, solo: Target, updated: list[Target],
            mixed: list[Target], count: int) -> BatchRounds:
    """`count` rounds of a PATCH, a batch of updates and a mixed batch, on one session (the
    layers the first mixed batch deletes are made beforehand, not timed)."""
    rounds = BatchRounds()
    with Client(url, token) as client:
        batch_once(client, [create(layer_id) for layer_id in made_in(-1)], None, rounds, [])
        _, on_air = client.call("GET", "/stream/layers")
        rounds.layers = len(on_air)
        for number in range(count):
            rounds.patch.append(patch_once(client, solo))
            rounds.updates.append(batch_once(client, [move(target) for target in updated],
                                             None, rounds, updated))
            operations = ([create(layer_id) for layer_id in made_in(number)]
                          + [move(target) for target in mixed]
                          + [{"op": "delete", "id": layer_id}
                             for layer_id in made_in(number - 1)])
            rounds.mixed.append(batch_once(client, operations, MIXED_TRANSITION, rounds,
                                           mixed))
    return rounds


def report_batches(rounds: BatchRounds) -> bool:
    """The batch phase's table; whether the batch goal was met."""
    print(f"batches, 1 client, {len(rounds.patch)} rounds of a PATCH and two batches of "
          f"{BATCH_SIZE} operations (the mixed one with a transition), {rounds.layers} layers "
          "on air:")
    print(f"  {'request':<40}{'p50':>7}{'p95':>7}{'p99':>7}  ms  {'p50 x PATCH':>11}")
    patch_p50 = percentile(rounds.patch, 50)
    met = True
    for name, samples, goal in (
            ("PATCH /stream/layers/<id>", rounds.patch, False),
            (f"batch: {BATCH_SIZE} updates", rounds.updates, True),
            (f"batch: {MIXED_CREATES} create, {BATCH_SIZE - 2 * MIXED_CREATES} update, "
             f"{MIXED_CREATES} delete", rounds.mixed, True)):
        p50 = percentile(samples, 50)
        verdict = ""
        if goal:
            verdict = f"(goal p50 <= {GOAL_BATCH_P50_MS:g} ms) " + (
                "PASS" if p50 <= GOAL_BATCH_P50_MS else "FAIL")
            met = met and p50 <= GOAL_BATCH_P50_MS
        print(f"  {name:<40}{p50:7.1f}{percentile(samples, 95):7.1f}"
              f"{percentile(samples, 99):7.1f}      {p50 / patch_p50:11.2f}  {verdict}")
    print("  answers: " + ", ".join(f"{'no answer' if code == 0 else code}: {n}"
                                    for code, n in sorted(rounds.statuses.items())))
    return met


def row(name: str, value: float, unit: str, goal: str = "", passed: bool | None = None) -> None:
    """One aligned line of the result table."""
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    goal_text = f"(goal {goal})" if goal else ""
    shown = f"{value:>9d}" if isinstance(value, int) else f"{value:>9.1f}"
    print(f"  {name:<24}{shown} {unit:<10}{goal_text:<22}{verdict}".rstrip())


def run(url: str, token: str | None, clients: int, seconds: float, count: int,
        rounds: int) -> bool:
    """All phases against the API at `url`; prints the table and returns True if all passed."""
    with Client(url, token) as client:
        solo = create_layer(client)
        targets = [create_layer(client) for _ in range(clients)]
    sequential(url, token, solo, 100)
    solo_latencies = sequential(url, token, solo, count)
    load_latencies, elapsed = concurrent(url, token, targets, seconds)
    # Made only now: every change reads the layers on air, so the phases before keep theirs.
    with Client(url, token) as client:
        updated = [create_layer(client) for _ in range(BATCH_SIZE)]
        mixed = [create_layer(client) for _ in range(BATCH_SIZE - 2 * MIXED_CREATES)]
    batch_rounds = batches(url, token, solo, updated, mixed, rounds)

    all_targets = [solo, *targets, *updated, *mixed]
    statuses = sum((t.statuses for t in all_targets), Counter())
    versions = {t.layer_id: final_version(url, token, t) for t in all_targets}
    wrong = [t for t in all_targets if versions[t.layer_id] != 1 + t.done]
    updates = sum(t.done for t in targets)
    rate = updates / elapsed
    p50, p99 = percentile(solo_latencies, 50), percentile(solo_latencies, 99)

    print(f"\nAPI PATCH benchmark: {url}   CPUs: {os.cpu_count()}")
    print(f"latency, 1 client, {count} sequential PATCHes:")
    row("latency p50", p50, "ms", f"<= {GOAL_P50_MS:g} ms", p50 <= GOAL_P50_MS)
    row("latency p90", percentile(solo_latencies, 90), "ms")
    row("latency p99", p99, "ms", f"<= {GOAL_P99_MS:g} ms", p99 <= GOAL_P99_MS)
    row("latency max", 1000 * max(solo_latencies), "ms")
    print(f"throughput, {clients} clients, {elapsed:.1f} s:")
    row("updates (200)", rate, "updates/s", f">= {GOAL_UPDATES_PER_S:g}/s",
        rate >= GOAL_UPDATES_PER_S)
    row("latency p50 under load", percentile(load_latencies, 50), "ms")
    row("latency p99 under load", percentile(load_latencies, 99), "ms")
    row("requests", len(load_latencies), "sent")
    batches_met = report_batches(batch_rounds)
    print("answers, PATCHes of all phases: " + ", ".join(
        f"{'no answer' if code == 0 else code}: {n}" for code, n in sorted(statuses.items())))
    not_done = sum(n for code, n in statuses.items() if code != 200)
    print(f"not done (non-200): {not_done}")
    for t in wrong:
        print(f"  layer {t.layer_id}: version {versions[t.layer_id]}, expected {1 + t.done}")
    print(f"correctness (version == 1 + PATCHes and batch updates answered 200, "
          f"{len(all_targets)} layers): {'OK' if not wrong else 'FAIL'}")
    return (not wrong and p50 <= GOAL_P50_MS and p99 <= GOAL_P99_MS
            and rate >= GOAL_UPDATES_PER_S and batches_met)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start a stack unless --url is given, run the phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="benchmark a system already running at this base URL")
    parser.add_argument("--clients", type=int, default=8, help="threads in the throughput phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput phase duration")
    parser.add_argument("--requests", type=int, default=1000, help="PATCHes in the latency phase")
    parser.add_argument("--batches", type=int, default=300,
                        help="rounds of a PATCH and two batches in the batch phase")
    parser.add_argument("--token", default=os.environ.get("API_TOKEN"),
                        help="API token (default: $API_TOKEN)")
    args = parser.parse_args(argv)
    if args.url:
        return 0 if run(args.url.rstrip("/"), args.token, args.clients, args.seconds,
                        args.requests, args.batches) else 1

    from tests.support.stack import Stack  # only needed when the bench starts the system

    with tempfile.TemporaryDirectory(prefix="bench-api-") as data_dir:
        print("starting the system (make run) ...", flush=True)
        stack = Stack(Path(data_dir)).start()
        try:
            ok = run(stack.url, stack.env.get("API_TOKEN"), args.clients, args.seconds,
                     args.requests, args.batches)
        finally:
            stack.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
