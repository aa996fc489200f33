"""The periodic health checks (celery beat sends them to the `health` queue) and what they found.

Each check does its work and returns a small JSON result. `record` keeps the last result of
each check, for `GET /health`, and counts runs and findings, for the metrics, in one round
trip; every check also proves that a Celery worker consumes (the worker heartbeat). The checks
are idempotent: one that ran twice in a tick would find nothing more to do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from core.commit import dumps
from core.store.state import StateStore
from core.store.values import now_ms

log = logging.getLogger(__name__)

CHECKS = ("render", "preview_clients", "chat")
# The render worker beats about once a second; an active instance silent this long is gone
# (a standby takes the lease and beats as active within about 3 s of a crash).
RENDER_STALE_AFTER_MS = 5_000
WORKER_HEARTBEAT_TTL = 60
STREAMING_STATES = ("live", "paused")


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
        found = {}
        for check, raw in self._redis.hgetall(self._keys.health_checks).items():
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
        found = {}
        for name, raw in self._redis.hgetall(self._keys.health_counters).items():
            try:
                found[name] = int(raw)
            except ValueError:
                log.error("unreadable health counter %r; ignored", name)
        return found
