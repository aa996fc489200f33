"""Prometheus metrics of the API process.

Request metrics come from prometheus-flask-exporter, labelled by endpoint (the view's name,
not the path, so layer ids do not make a series each). Every Redis command an API worker sends
is timed. Under gunicorn the workers write their values to PROMETHEUS_MULTIPROC_DIR and the
master serves the sum on METRICS_PORT (app/gunicorn_conf.py), together with `StateCollector`,
which reads what the whole system is doing from Redis at scrape time, each channel's figures
with a `channel` label. Requests are not labelled by channel: the endpoint names the route.
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

from app.services import ChannelStores
from core.config import Settings
from core.cues.model import RESULTS as CUE_RESULTS
from core.keys import DEFAULT_CHANNEL, Keys
from core.redis_client import connect
from core.schemas.stream import DESIRED_STATES
from core.store import StateStore
from core.store.channels import ChannelStore
from core.store.health import CHECKS, HealthChecks
from core.store.placement import Placement, PlacementStore

log = logging.getLogger(__name__)

PREFIX = "stream_manager"
# Redis answers in well under a millisecond on a LAN; the top buckets catch outages.
# The one label every figure of a channel carries (docs/operations.md, "Metrics").
CHANNEL_LABEL = "channel"
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
    reading live state, so the figures are never older than the scrape). Every figure of a
    channel carries its `channel` label, one set per channel (ChannelStore.ids())."""

    def __init__(self, channels: ChannelStore, stores: ChannelStores,
                 placements: PlacementStore) -> None:
        self._channels = channels
        self._stores = stores
        self._placements = placements

    def collect(self) -> Iterator[Metric]:
        """One Redis ping, then each channel's stream, layers, render heartbeat, placement and
        health checks."""
        up = GaugeMetricFamily(f"{PREFIX}_redis_up", "1 when Redis answers a PING")
        try:
            ping = self._stores.get(DEFAULT_CHANNEL).ping()
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
        families = ChannelFamilies()
        placements = self._placements.placements()
        for channel in self._channels.ids():
            families.add(channel, self._stores.get(channel), placements.get(channel))
        yield from families.all()


class ChannelFamilies:
    """The per-channel families of one scrape, filled channel by channel."""

    def __init__(self) -> None:
        labels = [CHANNEL_LABEL]
        self.layers = _channel_gauge("layers", "Layers in the scene")
        self.visible = _channel_gauge("layers_visible", "Visible layers in the scene")
        self.state = GaugeMetricFamily(f"{PREFIX}_stream_desired_state",
                                       "1 for the stream state the operator asked for",
                                       labels=[*labels, "state"])
        self.placed = _channel_gauge(
            "channel_placed", "1 while a render node holds the channel's placement, 0 while "
            "it is unplaced (no node has room; GET /channels/<id> gives the reason)")
        self.heartbeat = _channel_gauge(
            "render_heartbeat_age_seconds",
            "Age of the newest heartbeat of the channel's active render process")
        self.runs = CounterMetricFamily(f"{PREFIX}_health_checks",
                                        "Periodic health checks run, by check",
                                        labels=[*labels, "check"])
        self.stale = _channel_counter(
            "health_render_stale",
            "Health checks that found the stream meant to be on air and no render heartbeat")
        self.expired = _channel_counter(
            "health_preview_clients_expired",
            "Preview registrations the health checks removed after their process died")
        self.trimmed = _channel_counter(
            "health_chat_messages_trimmed",
            "Chat messages the health checks trimmed beyond CHAT_HISTORY")
        self.cues = CounterMetricFamily(f"{PREFIX}_cue_runs",
                                        "Cues that fell due, by what came of it",
                                        labels=[*labels, "result"])
        self.last_check = _channel_gauge(
            "health_last_check_timestamp_seconds",
            "When the channel's latest periodic health check ran (Unix time)")

    def add(self, channel: str, store: StateStore, placement: Placement | None) -> None:
        """One channel's figures."""
        layers = store.layers()
        self.layers.add_metric([channel], len(layers))
        self.visible.add_metric([channel], sum(layer.visible for layer in layers))
        desired = store.stream()["state"]
        for name in DESIRED_STATES:
            self.state.add_metric([channel, name], float(name == desired))
        if placement is not None:
            self.placed.add_metric([channel], float(placement.placed))
        age_ms = store.render_heartbeat_age_ms()
        if age_ms is not None:
            self.heartbeat.add_metric([channel], age_ms / 1000)
        checks = HealthChecks(store)
        counters = checks.counters()
        for check in CHECKS:
            self.runs.add_metric([channel, check], counters.get(f"runs:{check}", 0))
        self.stale.add_metric([channel], counters.get("render_stale", 0))
        self.expired.add_metric([channel], counters.get("preview_clients:expired", 0))
        self.trimmed.add_metric([channel], counters.get("chat:trimmed", 0))
        for result in CUE_RESULTS:
            self.cues.add_metric([channel, result], counters.get(f"cues:{result}", 0))
        times = [result["at"] for result in checks.last_results().values()]
        if times:
            self.last_check.add_metric([channel], max(times) / 1000)

    def all(self) -> list[Metric]:
        """Every family (a family no channel added to exposes no sample)."""
        return [self.layers, self.visible, self.state, self.placed, self.heartbeat, self.runs,
                self.stale, self.expired, self.trimmed, self.cues, self.last_check]


def _channel_gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=[CHANNEL_LABEL])


def _channel_counter(name: str, documentation: str) -> CounterMetricFamily:
    return CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=[CHANNEL_LABEL])


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


def serve_metrics(settings: Settings, directory: str) -> None:
    """Serve on METRICS_PORT the sum of the workers' values in `directory`, plus the state read
    from Redis; for the gunicorn master, which outlives its workers."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    client = connect(settings)
    keys = Keys(settings.redis_prefix)
    registry.register(StateCollector(ChannelStore(client, keys, settings),
                                     ChannelStores(settings, client),
                                     PlacementStore(client, keys)))
    start_http_server(settings.metrics_port, addr=settings.listen_host, registry=registry)
