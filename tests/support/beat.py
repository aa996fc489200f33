"""A real `celery -A workers beat`, as supervisord runs it, for tests of what it sends."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.store import StateStore
from tests.support.processes import Process, wait_until

ROOT = Path(__file__).resolve().parents[2]


def start_beat(base_env: dict[str, str], log: Path) -> Process:
    """A beat ticking its health checks every second, so that it takes its lease back within
    a second after a test wipes the state (the lease with it)."""
    process = Process(
        [sys.executable, "-m", "celery", "-A", "workers", "beat", "--loglevel", "INFO"], log,
        env={**os.environ, **base_env, "HEALTH_CHECK_INTERVAL": "1"}, cwd=ROOT).start()
    try:
        wait_until(lambda: "beat: Starting" in log.read_text(errors="replace"), 60,
                   "celery beat")
    except TimeoutError:
        process.stop()
        raise
    return process


def wait_for_beat_lease(store: StateStore) -> None:
    """Until a beat holds its lease again (each test wipes it with the state): cues due after
    that are sent on time."""
    wait_until(lambda: store.redis.get(store.keys.beat_lock), 10, "the beat's lease")
