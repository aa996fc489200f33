"""The periodic health checks, run by a real Celery worker, and celery beat's single scheduler:
two beat processes still send each check once per tick, and when the scheduling one dies the
other takes over."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.store import StateStore, now_ms
from core.store.health import CHECKS, HealthChecks
from tests.support.processes import Process, wait_until

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 1.0


def _run(client: FlaskClient, check: str) -> None:
    """Send one check as beat would, and wait until the real worker recorded it."""
    checks = HealthChecks(client.application.extensions["stream_manager"].store)
    before = checks.counters().get(f"runs:{check}", 0)
    client.application.extensions["stream_manager"].celery.send_task(f"health.{check}")
    wait_until(lambda: checks.counters().get(f"runs:{check}", 0) > before, 15,
               f"the {check} check")


def test_a_live_stream_without_a_render_heartbeat_gets_an_error_and_is_counted(
        client: FlaskClient, store: StateStore) -> None:
    assert client.post("/stream/start").status_code == 200
    store.redis.delete(store.keys.render_heartbeat)
    _run(client, "render")
    status = client.get("/stream/status").get_json()
    assert status["error"] == "render worker not reporting (never reported)"
    assert status["fps"] == 0
    assert HealthChecks(store).counters()["render_stale"] == 1
    body = client.get("/health").get_json()
    assert body["lastCheck"]["results"]["render"]["ok"] is False
    assert body["status"] == "degraded"

    # An active instance that beat 8 s ago is stale too; one beating now is healthy.
    store.redis.hset(store.keys.render_heartbeat, "r1", json.dumps(
        {"id": "r1", "role": "active", "pid": 1, "host": "h", "at": now_ms() - 8_000}))
    _run(client, "render")
    assert "last heartbeat 8 s ago" in client.get("/stream/status").get_json()["error"]
    store.live.beat("r1", "active", 1, "h")
    _run(client, "render")
    assert HealthChecks(store).counters()["render_stale"] == 2
    assert client.get("/health").get_json()["lastCheck"]["results"]["render"]["ok"] is True


def test_a_stopped_stream_without_a_render_worker_is_not_an_error(
        client: FlaskClient, store: StateStore) -> None:
    store.redis.delete(store.keys.render_heartbeat)
    _run(client, "render")
    assert client.get("/stream/status").get_json()["error"] is None
    assert "render_stale" not in HealthChecks(store).counters()


def test_stale_preview_clients_are_expired(client: FlaskClient, store: StateStore) -> None:
    now = now_ms()
    for client_id, expires in (("live", now + 30_000), ("dead", now - 1)):
        store.redis.hset(store.keys.preview_clients, client_id, json.dumps({
            "id": client_id, "quality": "low", "lastPing": now, "connected": True,
            "expiresAt": expires}))
    store.redis.hset(store.keys.preview_clients, "garbage", "{not json")
    _run(client, "preview_clients")
    assert sorted(store.redis.hkeys(store.keys.preview_clients)) == ["live"]
    # The unreadable entry went to the quarantine when it was read; the dead one expired.
    assert store.redis.llen(store.keys.quarantine) == 1
    assert HealthChecks(store).last_results()["preview_clients"]["expired"] == 1
    assert HealthChecks(store).counters()["preview_clients:expired"] == 1


def test_chat_history_is_trimmed(client: FlaskClient, store: StateStore) -> None:
    keep = store.chat_history
    store.redis.lpush(store.keys.chat, *[json.dumps({
        "id": f"m{n}", "author": "a", "message": str(n), "createdAt": now_ms()})
        for n in range(keep + 7)])
    _run(client, "chat")
    assert store.redis.llen(store.keys.chat) == keep
    assert HealthChecks(store).last_results()["chat"]["trimmed"] == 7
    # The newest messages are the ones kept.
    assert client.get(f"/stream/chat?limit={keep}").get_json()[-1]["message"] == str(keep + 6)


@pytest.fixture
def beats(base_env: dict[str, str], celery_worker: Process,
          tmp_path: Path) -> Iterator[list[Process]]:
    """Two `celery -A workers beat` processes, as supervisord runs one, ticking every second."""
    env = {**os.environ, **base_env, "HEALTH_CHECK_INTERVAL": str(INTERVAL)}
    started = [
        Process([sys.executable, "-m", "celery", "-A", "workers", "beat", "--loglevel", "INFO"],
                tmp_path / f"beat-{n}.log", env=env, cwd=ROOT).start()
        for n in range(2)
    ]
    yield started
    for beat in started:
        beat.stop()


def _runs(store: StateStore) -> dict[str, int]:
    counters = HealthChecks(store).counters()
    return {check: counters.get(f"runs:{check}", 0) for check in CHECKS}


def _count_over(store: StateStore, seconds: float) -> dict[str, int]:
    before = _runs(store)
    time.sleep(seconds)  # the measured window itself, not a wait for something to happen
    after = _runs(store)
    return {check: after[check] - before[check] for check in CHECKS}


def test_two_beats_send_each_check_once_per_tick_and_the_standby_takes_over(
        beats: list[Process], store: StateStore) -> None:
    wait_until(lambda: all(_runs(store).values()), 30, "the first checks")
    window = 8.0
    counted = _count_over(store, window)
    for check, runs in counted.items():
        # One scheduler: about one run a second (a tick at each edge of the window at most).
        # Two would give about 16.
        assert window / INTERVAL - 2 <= runs <= window / INTERVAL + 1, (check, counted)
    holder = store.redis.get(store.keys.beat_lock)
    leader = next(beat for beat in beats if f"-{beat.popen.pid}-" in holder)
    standby = next(beat for beat in beats if beat is not leader)

    leader.send(signal.SIGKILL)
    wait_until(lambda: f"-{standby.popen.pid}-" in (store.redis.get(store.keys.beat_lock) or ""),
               3 * INTERVAL + 3, "the standby beat to take the lease")
    counted = _count_over(store, 4.0)
    assert all(3 <= runs <= 5 for runs in counted.values()), counted
