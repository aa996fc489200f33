"""`GET /health`: each dependency (Redis, the broker queues, a Celery worker consuming, celery
beat scheduling, a render worker streaming and a standby ready) and the result of the last
periodic health checks."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, Response, jsonify

from app.services import services
from core.store.health import CHECKS, RENDER_STALE_AFTER_MS, HealthChecks

blueprint = Blueprint("health", __name__)

# Beyond this many check intervals without news, the worker (or beat) is taken for gone.
STALE_INTERVALS = 3


@blueprint.get("/health")
def health() -> Response:
    """200 while Redis answers (status ok, or degraded when a part is missing); 503 if not."""
    found = services()
    store = found.store
    stale_after = STALE_INTERVALS * found.settings.health_check_interval
    checks: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        store.redis.ping()
        checks["redis"] = {"ok": True,
                           "latencyMs": round((time.perf_counter() - started) * 1000, 2)}
        depths = {queue: store.redis.llen(f"{store.keys.celery}{queue}")
                  for queue in ("control", "health")}
        checks["broker"] = {"ok": True, "queue": "control", "queueDepth": depths["control"],
                            "queues": depths}
        beat = store.redis.get(store.keys.worker_heartbeat)
        scheduler = store.redis.get(store.keys.beat_lock)
        instances = store.live.render_instances()
        results = HealthChecks(store).last_results()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
        checks["broker"] = {"ok": False, "error": "shares Redis"}
        response = jsonify({"status": "down", "error": "unavailable",
                            "message": "Redis is unreachable", "checks": checks})
        response.status_code = 503
        return response
    now = time.time()
    age = None if beat is None else max(0.0, now - int(beat) / 1000)
    checks["worker"] = {"ok": age is not None and age <= stale_after,
                        "lastSeenSecondsAgo": _seconds(age)}
    checks["beat"] = {"ok": scheduler is not None, "scheduler": scheduler}
    checks["render"] = _render_check(instances, now)
    last_check = _last_check(results, now, stale_after)
    healthy = all(check["ok"] for check in checks.values()) and last_check["ok"]
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks,
                    "lastCheck": last_check})


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
