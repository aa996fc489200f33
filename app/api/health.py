"""`GET /health`: each dependency (Redis, the broker queues, a Celery worker consuming, celery
beat scheduling, a render worker streaming and a standby ready), the result of the last
periodic health checks, as core.store.health reads them, and the render nodes with the
channels no node holds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from app.services import services
from core.store.health import STREAMING_STATES, HealthChecks

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health() -> Response:
    """200 while Redis answers (status ok, or degraded when a part is missing or a live channel
    is unplaced); 503 if not."""
    found = services()
    report = HealthChecks(found.store).report(found.settings.health_check_interval)
    if report["status"] != "down":
        return jsonify(_with_nodes(report))
    response = jsonify({"status": "down", "error": "unavailable",
                        "message": "Redis is unreachable", "checks": report["checks"]})
    response.status_code = 503
    return response


def _with_nodes(report: dict[str, Any]) -> dict[str, Any]:
    """The report with `nodes` (as GET /nodes) and `unplaced`: every channel no node holds,
    with the reason. A live or paused channel among them makes the status degraded."""
    found = services()
    unplaced = found.placement.unplaced(found.channels.ids())
    off_air = any(found.stores.get(entry["channel"]).stream()["state"] in STREAMING_STATES
                  for entry in unplaced)
    status = "degraded" if off_air else report["status"]
    return {**report, "status": status, "nodes": found.placement.node_views(),
            "unplaced": unplaced}
