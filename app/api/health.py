"""`GET /health`: each dependency (Redis, the broker queues, a Celery worker consuming, celery
beat scheduling, a render worker streaming and a standby ready) and the result of the last
periodic health checks, as core.store.health reads them."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.services import services
from core.store.health import HealthChecks

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health() -> Response:
    """200 while Redis answers (status ok, or degraded when a part is missing); 503 if not."""
    found = services()
    report = HealthChecks(found.store).report(found.settings.health_check_interval)
    if report["status"] != "down":
        return jsonify(report)
    response = jsonify({"status": "down", "error": "unavailable",
                        "message": "Redis is unreachable", "checks": report["checks"]})
    response.status_code = 503
    return response
