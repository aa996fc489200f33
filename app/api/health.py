"""`GET /health`: is Redis answering, is the broker queue reachable, is a worker consuming,
is a render worker streaming (and is a standby ready)."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, Response, jsonify

from app.services import services
from celeryconfig import HEALTH_CHECK_INTERVAL

blueprint = Blueprint("health", __name__)

WORKER_STALE_AFTER = 3 * HEALTH_CHECK_INTERVAL
# The render worker beats about once a second (STATE_UPDATE_DEBOUNCE).
RENDER_STALE_AFTER = 5.0


@blueprint.get("/health")
def health() -> Response:
    """200 while Redis answers (status ok, or degraded without a live worker); 503 if not."""
    store = services().store
    checks: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        store.redis.ping()
        checks["redis"] = {"ok": True,
                           "latencyMs": round((time.perf_counter() - started) * 1000, 2)}
        depth = store.redis.llen(f"{store.keys.celery}control")
        checks["broker"] = {"ok": True, "queue": "control", "queueDepth": depth}
        beat = store.redis.get(store.keys.worker_heartbeat)
        instances = store.live.render_instances()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
        checks["broker"] = {"ok": False, "error": "shares Redis"}
        response = jsonify({"status": "down", "error": "unavailable",
                            "message": "Redis is unreachable", "checks": checks})
        response.status_code = 503
        return response
    age = None if beat is None else max(0.0, time.time() - int(beat) / 1000)
    worker_ok = age is not None and age <= WORKER_STALE_AFTER
    checks["worker"] = {"ok": worker_ok,
                        "lastSeenSecondsAgo": None if age is None else round(age, 1)}
    checks["render"] = _render_check(instances)
    healthy = worker_ok and checks["render"]["ok"]
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks})


def _render_check(instances: list[dict[str, Any]]) -> dict[str, Any]:
    """ok while an active render instance beats; standbys are counted."""
    now = time.time()
    fresh = [entry for entry in instances if now - entry["at"] / 1000 <= RENDER_STALE_AFTER]
    active = next((entry for entry in fresh if entry["role"] == "active"), None)
    newest = instances[0] if instances else None
    return {
        "ok": active is not None,
        "active": active["id"] if active else None,
        "standby": sum(entry["role"] == "standby" for entry in fresh),
        "lastSeenSecondsAgo": None if newest is None
        else round(max(0.0, now - newest["at"] / 1000), 1),
    }
