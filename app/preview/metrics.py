"""Prometheus metrics of the preview process, served at `/metrics` on WS_PORT.

The process runs one gunicorn worker (every client holds one of its threads), so a plain
registry of its own is exact: no multiprocess files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.schemas.preview import QUALITIES

PREFIX = "stream_manager_preview"


class PreviewMetrics:
    """Frames sent and skipped, by quality, and clients counted at scrape time."""

    def __init__(self, client_counts: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self._sent = Counter(f"{PREFIX}_frames_sent", "JPEG frames sent to preview clients",
                             ["quality"], registry=self.registry)
        self._skipped = Counter(
            f"{PREFIX}_frames_skipped",
            "Frames replaced by a newer one before a slow client could take them",
            ["quality"], registry=self.registry)
        for quality in QUALITIES:
            self._sent.labels(quality)
            self._skipped.labels(quality)
        self.registry.register(_ClientCollector(client_counts))

    def frame_sent(self, quality: str) -> None:
        """One frame went out to a client watching `quality`."""
        self._sent.labels(quality).inc()

    def frame_skipped(self, quality: str) -> None:
        """A client watching `quality` skipped a frame."""
        self._skipped.labels(quality).inc()


class _ClientCollector(Collector):
    def __init__(self, client_counts: Callable[[], dict[str, int]]) -> None:
        self._client_counts = client_counts

    def collect(self) -> Iterator[Metric]:
        counts = self._client_counts()
        clients = GaugeMetricFamily(f"{PREFIX}_clients", "Connected preview clients",
                                    labels=["quality"])
        for quality in QUALITIES:
            clients.add_metric([quality], counts.get(quality, 0))
        yield clients
