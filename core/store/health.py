"""The periodic health checks (celery beat sends them to the `health` queue) and what they found.

Each check does its work and returns a small JSON result. `record` keeps the last result of
each check, for `GET /health`, and counts runs and findings, for the metrics, in one round
trip; every check also proves that a Celery worker consumes (the worker heartbeat). The checks
are idempotent: one that ran twice in a tick would find nothing more to do.

`report` reads everything `GET /health` shows: each dependency, and the last checks' results.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, cast

import redis

from core.commit import dumps
from core.store.state import StateStore
from core.store.values import now_ms
from core.tasks import QUEUES

log = logging.getLogger(__name__)

CHECKS = ("render", "preview_clients", "chat")
# The render worker beats about once a second; an active instance silent this long is gone
# (a standby takes the lease and beats as active within about 3 s of a crash).
RENDER_STALE_AFTER_MS = 5_000
WORKER_HEARTBEAT_TTL = 60
STREAMING_STATES = ("live", "paused")
# Beyond this many check intervals without news, the worker (or beat) is taken for gone.
STALE_INTERVALS = 3


class HealthChecks:
    """Runs the checks against the store and keeps their results and counters."""

    def __init__(self, store: StateStore, clock: Callable[[], int] = now_ms) -> None:
        self._store = store
        self._keys = store.keys
        self._redis = store.redis
        self._clock = clock

    # ---- the checks ----------------------------------------------------------------------

    def check_render(self) -> dict[str, Any]:
        """While the stream should be on air and no active render instance has beaten within
        RENDER_STALE_AFTER_MS, put that in the stream's error (and count it)."""
        desired = self._store.stream()["state"]
        age_ms = self._store.live.active_heartbeat_age_ms()
        stale = age_ms is None or age_ms > RENDER_STALE_AFTER_MS
        result: dict[str, Any] = {
            "ok": not (stale and desired in STREAMING_STATES),
            "desired": desired,
            "lastSeenSecondsAgo": None if age_ms is None else round(age_ms / 1000, 1),
        }
        if not result["ok"]:
            seen = ("never reported" if age_ms is None
                    else f"last heartbeat {age_ms / 1000:.0f} s ago")
            result["error"] = f"render worker not reporting ({seen})"
            self._store.live.mark_render_stale(result["error"])
            log.warning("stream is %s but the %s", desired, result["error"])
        return result

    def expire_preview_clients(self) -> dict[str, Any]:
        """Drop preview registrations whose process died without removing them."""
        return {"ok": True, "expired": self._store.live.expire_preview_clients()}

    def trim_chat(self) -> dict[str, Any]:
        """Keep the chat history within CHAT_HISTORY."""
        return {"ok": True, "trimmed": self._store.trim_chat(), "keep": self._store.chat_history}

    # ---- results and counters --------------------------------------------------------------

    def record(self, check: str, result: dict[str, Any]) -> None:
        """Keep `result` as the last of `check`, count the run and what it found."""
        now = self._clock()
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._keys.health_checks, check, dumps({**result, "at": now}))
            pipe.hincrby(self._keys.health_counters, f"runs:{check}", 1)
            if not result["ok"] and check == "render":
                pipe.hincrby(self._keys.health_counters, "render_stale", 1)
            for finding in ("expired", "trimmed"):
                if result.get(finding):
                    pipe.hincrby(self._keys.health_counters, f"{check}:{finding}",
                                 result[finding])
            pipe.set(self._keys.worker_heartbeat, now, ex=WORKER_HEARTBEAT_TTL)
            pipe.execute()

    def last_results(self) -> dict[str, dict[str, Any]]:
        """check -> its last result (with `at`, epoch ms); unreadable entries are left out."""
        found: dict[str, dict[str, Any]] = {}
        for check, raw in self._hash(self._keys.health_checks).items():
            try:
                result = json.loads(raw)
            except ValueError:
                log.error("unreadable health result for %r; ignored", check)
                continue
            if isinstance(result, dict) and isinstance(result.get("at"), int):
                found[check] = result
        return found

    def counters(self) -> dict[str, int]:
        """Counter name -> count: `runs:<check>`, `render_stale`, `<check>:expired|trimmed`."""
        found: dict[str, int] = {}
        for name, raw in self._hash(self._keys.health_counters).items():
            try:
                found[name] = int(raw)
            except ValueError:
                log.error("unreadable health counter %r; ignored", name)
        return found

    def _hash(self, key: str) -> dict[str, str]:
        """A hash's fields and values (the client decodes replies to str)."""
        return cast(dict[str, str], self._redis.hgetall(key))

    # ---- the health report -----------------------------------------------------------------

    def report(self, check_interval: float) -> dict[str, Any]:
        """`GET /health`: `status` (ok; degraded when a part is missing; down when Redis does
        not answer), a check per dependency, and `lastCheck`, the periodic checks' results.

        A Celery worker or beat silent for STALE_INTERVALS check intervals is taken for gone.
        """
        stale_after = STALE_INTERVALS * check_interval
        checks: dict[str, Any] = {}
        try:
            checks["redis"] = {"ok": True, "latencyMs": round(self._store.ping() * 1000, 2)}
            with self._redis.pipeline(transaction=False) as pipe:
                for queue in QUEUES:
                    pipe.llen(self._keys.broker_queue(queue))
                pipe.get(self._keys.worker_heartbeat)
                pipe.get(self._keys.beat_lock)
                *depths, beat, scheduler = pipe.execute()
            instances = self._store.live.render_instances()
            results = self.last_results()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            checks["redis"] = {"ok": False, "error": type(exc).__name__}
            checks["broker"] = {"ok": False, "error": "shares Redis"}
            return {"status": "down", "checks": checks}
        queues = dict(zip(QUEUES, depths, strict=True))
        checks["broker"] = {"ok": True, "queue": QUEUES[0], "queueDepth": queues[QUEUES[0]],
                            "queues": queues}
        now = self._clock() / 1000
        age = None if beat is None else max(0.0, now - int(beat) / 1000)
        checks["worker"] = {"ok": age is not None and age <= stale_after,
                            "lastSeenSecondsAgo": _seconds(age)}
        checks["beat"] = {"ok": scheduler is not None, "scheduler": scheduler}
        checks["render"] = _render_check(instances, now)
        last_check = _last_check(results, now, stale_after)
        healthy = all(check["ok"] for check in checks.values()) and last_check["ok"]
        return {"status": "ok" if healthy else "degraded", "checks": checks,
                "lastCheck": last_check}


def _render_check(instances: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """ok while an active render instance beats; standbys are counted."""
    fresh = [entry for entry in instances
             if now * 1000 - entry["at"] <= RENDER_STALE_AFTER_MS]
    active = next((entry for entry in fresh if entry["role"] == "active"), None)
    newest = instances[0] if instances else None
    return {
        "ok": active is not None,
        "active": active["id"] if active else None,
        "standby": sum(entry["role"] == "standby" for entry in fresh),
        "lastSeenSecondsAgo": None if newest is None
        else _seconds(max(0.0, now - newest["at"] / 1000)),
    }


def _last_check(results: dict[str, dict[str, Any]], now: float,
                stale_after: float) -> dict[str, Any]:
    """The periodic checks' latest results: ok when every check ran recently and passed."""
    times = [result["at"] / 1000 for result in results.values()]
    age = None if not times else max(0.0, now - max(times))
    fresh = set(results) >= set(CHECKS) and all(
        now - result["at"] / 1000 <= stale_after for result in results.values())
    return {
        "ok": fresh and all(result.get("ok") is True for result in results.values()),
        "secondsAgo": _seconds(age),
        "results": {check: results.get(check) for check in CHECKS},
    }


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
