"""Start-up benchmark: frames dropped in the first seconds of a stream.

The whole system runs as `make run` starts it (deploy/run.sh under supervisord: two render
instances, API, preview, worker, beat, Flower, Redis) on free ports in a temporary folder,
and streams the reference scene (1280x720 at 30 fps) to a local nginx-rtmp. The stream is
started --starts times through the API; each time, --seconds after its first frame, the
streaming render instance's own metrics tell how many slots it dropped since the start and
how many frames took longer than a frame's budget (33 ms). Then the stream is stopped, and
the next start waits until it is.

Not a test: a start on a loaded 2-core machine can be late for reasons outside the render
worker (another process taking both cores), so the figure belongs in a measurement run on a
quiet machine, not in a pass/fail check.

Run from the repository root:

    .venv/bin/python -m bench.startup [--starts 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import time

import requests

from bench.system import reference_system
from tests.support.metrics import scrape
from tests.support.processes import wait_until
from tests.support.stack import Stack

PREFIX = "stream_manager_render"
BUDGET_BUCKET = "0.033"  # the frame-time histogram's bucket for one 30 fps frame


def counts(stack: Stack) -> tuple[float, float, float, float]:
    """Summed over both render instances: (frames streamed, slots dropped late, frames over
    the 33 ms budget, instances streaming)."""
    totals = [0.0, 0.0, 0.0, 0.0]
    for name, url in stack.metrics_urls().items():
        if name.startswith("render"):
            metrics = scrape(url)
            frames = metrics.total(f"{PREFIX}_frame_seconds_count")
            within = metrics.total(f"{PREFIX}_frame_seconds_bucket", le=BUDGET_BUCKET)
            for index, value in enumerate((
                    frames, metrics.total(f"{PREFIX}_dropped_frames_total", reason="late"),
                    frames - within, metrics.total(f"{PREFIX}_streaming"))):
                totals[index] += value
    return totals[0], totals[1], totals[2], totals[3]


def one_start(stack: Stack, seconds: float) -> tuple[int, int, int]:
    """Start, stream `seconds` past the first frame, stop; (frames, dropped, over budget)."""
    before = counts(stack)
    requests.post(f"{stack.url}/stream/start", timeout=10).raise_for_status()
    wait_until(lambda: counts(stack)[0] > before[0], 30, "the first frame")
    time.sleep(seconds)  # the measuring window: the stream's first seconds
    after = counts(stack)
    requests.post(f"{stack.url}/stream/stop", timeout=10).raise_for_status()
    wait_until(lambda: counts(stack)[3] == 0, 30, "the stop")
    frames, dropped, slow = (int(b - a) for a, b in zip(before[:3], after[:3], strict=True))
    return frames, dropped, slow


def main() -> int:
    """Start the system, run the starts and print one line per start, then the total."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="how long each start streams before it is measured and stopped")
    args = parser.parse_args()
    results = []
    with reference_system("startup") as stack:
        for number in range(1, args.starts + 1):
            frames, dropped, slow = one_start(stack, args.seconds)
            results.append(dropped)
            print(f"start {number}: {frames} frames in the first {args.seconds:g} s, "
                  f"{dropped} dropped, {slow} over 33 ms", flush=True)
    print(f"dropped at start-up: {sum(results)} over {len(results)} starts "
          f"({', '.join(map(str, results))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
