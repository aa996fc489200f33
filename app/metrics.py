"""Prometheus metrics of the API process.

Request metrics come from prometheus-flask-exporter, labelled by endpoint (the view's name,
not the path, so layer ids do not make a series each). Every Redis command an API worker sends
is timed. Under gunicorn the workers write their values to PROMETHEUS_MULTIPROC_DIR and the
master serves the sum on METRICS_PORT (app/gunicorn_conf.py), together with `StateCollector`,
which reads what the whole system is doing from Redis at scrape time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from flask import Flask, Response, request
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics

from core.config import Settings
from core.cues.model import RESULTS as CUE_RESULTS
from core.redis_client import connect
from core.schemas.stream import DESIRED_STATES
from core.store import StateStore
from core.store.health import CHECKS, HealthChecks

log = logging.getLogger(__name__)

PREFIX = "stream_manager"
# Redis answers in well under a millisecond on a LAN; the top buckets catch outages.
REDIS_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class ApiMetrics:
    """The API's own metrics, in a registry of their own (tests build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._redis_commands = Histogram(
            f"{PREFIX}_api_redis_command_duration_seconds",
            "Round trip of each Redis command (or pipeline) an API worker sent",
            ["command"], buckets=REDIS_BUCKETS, registry=self.registry)
        self._requests = Counter(
            f"{PREFIX}_api_requests_total", "HTTP requests by method, endpoint and status",
            ["method", "endpoint", "status"], registry=self.registry)

    def observe_redis(self, command: str, seconds: float) -> None:
        """Record one Redis round trip (a core.redis_client.CommandObserver)."""
        self._redis_commands.labels(command).observe(seconds)

    def instrument(self, app: Flask) -> None:
        """Count and time every request by method, endpoint and status (error answers too)."""
        PrometheusMetrics(app, path=None, registry=self.registry, group_by="endpoint",
                          defaults_prefix=f"{PREFIX}_api")

        @app.after_request
        def count_request(response: Response) -> Response:
            self._requests.labels(request.method, request.endpoint or "none",
                                  str(response.status_code)).inc()
            return response


class StateCollector(Collector):
    """What the system is doing, read from Redis at scrape time (voctomix style: a collector
    reading live state, so the figures are never older than the scrape)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        """One Redis ping, then the stream, layers, render heartbeat and health checks."""
        up = GaugeMetricFamily(f"{PREFIX}_redis_up", "1 when Redis answers a PING")
        try:
            ping = self._store.ping()
            families = list(self._read(ping))
        except redis.RedisError as exc:
            log.warning("metrics: Redis is unreachable (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, ping: float) -> Iterator[Metric]:
        yield _gauge("redis_ping_seconds", "Round trip of the scrape's PING", ping)
        layers = self._store.layers()
        yield _gauge("layers", "Layers in the scene", len(layers))
        yield _gauge("layers_visible", "Visible layers in the scene",
                     sum(layer.visible for layer in layers))
        desired = self._store.stream()["state"]
        state = GaugeMetricFamily(f"{PREFIX}_stream_desired_state",
                                  "1 for the stream state the operator asked for",
                                  labels=["state"])
        for name in DESIRED_STATES:
            state.add_metric([name], float(name == desired))
        yield state
        age_ms = self._store.render_heartbeat_age_ms()
        if age_ms is not None:
            yield _gauge("render_heartbeat_age_seconds",
                         "Age of the newest heartbeat of the active render instance",
                         age_ms / 1000)
        yield from self._health()

    def _health(self) -> Iterator[Metric]:
        checks = HealthChecks(self._store)
        counters = checks.counters()
        runs = CounterMetricFamily(f"{PREFIX}_health_checks",
                                   "Periodic health checks run, by check", labels=["check"])
        for check in CHECKS:
            runs.add_metric([check], counters.get(f"runs:{check}", 0))
        yield runs
        yield CounterMetricFamily(
            f"{PREFIX}_health_render_stale",
            "Health checks that found the stream meant to be on air and no render heartbeat",
            value=counters.get("render_stale", 0))
        yield CounterMetricFamily(
            f"{PREFIX}_health_preview_clients_expired",
            "Preview registrations the health checks removed after their process died",
            value=counters.get("preview_clients:expired", 0))
        yield CounterMetricFamily(
            f"{PREFIX}_health_chat_messages_trimmed",
            "Chat messages the health checks trimmed beyond CHAT_HISTORY",
            value=counters.get("chat:trimmed", 0))
        cues = CounterMetricFamily(f"{PREFIX}_cue_runs",
                                   "Cues that fell due, by what came of it", labels=["result"])
        for result in CUE_RESULTS:
            cues.add_metric([result], counters.get(f"cues:{result}", 0))
        yield cues
        times = [result["at"] for result in checks.last_results().values()]
        if times:
            yield _gauge("health_last_check_timestamp_seconds",
                         "When the latest periodic health check ran (Unix time)",
                         max(times) / 1000)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def serve_metrics(settings: Settings, directory: str) -> None:
    """Serve on METRICS_PORT the sum of the workers' values in `directory`, plus the state read
    from Redis; for the gunicorn master, which outlives its workers."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(StateCollector(StateStore.from_settings(settings, connect(settings))))
    start_http_server(settings.metrics_port, addr=settings.listen_host, registry=registry)
