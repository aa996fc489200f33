"""Prometheus metrics of a render instance, on RENDER_METRICS_PORT plus its instance number.

Per-frame figures (frame time, drops, rasterisations) are observed by the render
thread as they happen, which costs about a microsecond a frame. Everything else is read from
the running renderer at scrape time by `RenderCollector`, so a scrape never waits on the render
thread and the render thread never does work for a scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.schemas.stream import OUTPUT_STATES

log = logging.getLogger(__name__)

PREFIX = "stream_manager_render"
# A 30 fps frame has 33 ms; the buckets are dense around that budget.
FRAME_BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.033, 0.04, 0.05, 0.075, 0.1, 0.25)
RASTER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
DROP_REASONS = ("late", "repeated")


@dataclass(frozen=True)
class RenderView:
    """What the renderer is doing, as the collector reads it."""

    active: bool
    streaming: bool
    fps: float
    target_fps: int
    outputs: list[dict[str, Any]]
    raster_seconds: dict[str, float]
    audio: dict[str, Any] | None = None  # the program audio's levels (render.audio.mixer)


class RenderMetrics:
    """The registry of one render instance and the figures the render thread observes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._frame_seconds = Histogram(
            f"{PREFIX}_frame_seconds", "Compositing plus encoding time of each streamed frame",
            buckets=FRAME_BUCKETS, registry=self.registry)
        self._dropped = Counter(
            f"{PREFIX}_dropped_frames",
            "Frames not made fresh: late (their slot had passed) or repeated (compositing "
            "failed, so the previous frame went out again)", ["reason"], registry=self.registry)
        for reason in DROP_REASONS:
            self._dropped.labels(reason)
        self._raster_seconds = Histogram(
            f"{PREFIX}_layer_raster_seconds", "Time to rasterise a layer, by layer type",
            ["type"], buckets=RASTER_BUCKETS, registry=self.registry)

    def observe_frame(self, seconds: float, late: int) -> None:
        """One streamed frame that took `seconds`, after `late` slots were skipped."""
        self._frame_seconds.observe(seconds)
        if late:
            self._dropped.labels("late").inc(late)

    def observe_repeat(self) -> None:
        """Compositing failed and the previous frame was sent again."""
        self._dropped.labels("repeated").inc()

    def observe_raster(self, kind: str, seconds: float) -> None:
        """A layer of type `kind` was rasterised in `seconds` (a Compositor `on_raster`)."""
        self._raster_seconds.labels(kind).observe(seconds)

    def watch(self, read: Callable[[], RenderView]) -> None:
        """Export, at every scrape, what `read` reports."""
        self.registry.register(RenderCollector(read, self._frames_streamed))

    def _frames_streamed(self) -> float:
        # The frame-time histogram already counts every frame: frames_total is its count,
        # not a second counter bumped on the render thread.
        return next(sample.value for metric in self._frame_seconds.collect()
                    for sample in metric.samples if sample.name.endswith("_count"))

    def serve(self, host: str, port: int) -> int | None:
        """Listen on `host`:`port` (0: a free port the system picks); the port listened on.
        A port in use is logged, never fatal (the stream matters more): None then."""
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("metrics: cannot listen on port %d: %s", port, exc)
            return None
        bound = int(server.server_port)
        log.info("metrics on %s port %d (/metrics)", host, bound)
        return bound


class RenderCollector(Collector):
    """Reads the renderer's role, rate and outputs at scrape time."""

    def __init__(self, read: Callable[[], RenderView], frames: Callable[[], float]) -> None:
        self._read = read
        self._frames = frames

    def collect(self) -> Iterator[Metric]:
        """Gauges of the instance, then one series per output and per layer."""
        view = self._read()
        yield _gauge("active", "1 while this instance holds the render lease", view.active)
        yield _gauge("streaming", "1 while this instance streams (desired live or paused)",
                     view.streaming)
        yield _gauge("fps", "Frames streamed per second over the last second", view.fps)
        yield _gauge("target_fps", "RENDER_FPS", view.target_fps)
        yield CounterMetricFamily(f"{PREFIX}_frames", "Frames streamed", value=self._frames())
        yield from _outputs(view.outputs)
        raster = GaugeMetricFamily(f"{PREFIX}_layer_last_raster_seconds",
                                   "How long each layer's latest rasterisation took",
                                   labels=["layer"])
        for layer_id, seconds in sorted(view.raster_seconds.items()):
            raster.add_metric([layer_id], seconds)
        yield raster
        if view.audio is not None:
            yield from _audio(view.audio)


def _outputs(outputs: list[dict[str, Any]]) -> Iterator[Metric]:
    state = GaugeMetricFamily(f"{PREFIX}_output_state", "1 for each output's current state",
                              labels=["output", "state"])
    queued = GaugeMetricFamily(
        f"{PREFIX}_encoder_queue_packets",
        "Encoded packets waiting for an output's sender process", labels=["output"])
    counters = {
        "reconnects": CounterMetricFamily(f"{PREFIX}_output_reconnects",
                                          "Times an output lost its connection or sender",
                                          labels=["output"]),
        "bytes_sent": CounterMetricFamily(f"{PREFIX}_output_sent_bytes",
                                          "Encoded bytes an output wrote", labels=["output"]),
        "packets_dropped": CounterMetricFamily(
            f"{PREFIX}_output_dropped_packets",
            "Packets an output skipped (its queue overflowed, waiting for a keyframe, or "
            "past the render lease's deadline)",
            labels=["output"]),
    }
    for output in outputs:
        name = output["name"]
        for candidate in OUTPUT_STATES:
            state.add_metric([name, candidate], float(output["state"] == candidate))
        queued.add_metric([name], output["packets_queued"])
        for key, family in counters.items():
            family.add_metric([name], output[key])
    yield state
    yield queued
    yield from counters.values()


def _audio(levels: dict[str, Any]) -> Iterator[Metric]:
    """The program's loudness and true peak, the normaliser's gain, and the peak and RMS of
    each sounding layer and of the bed (a LUFS reading below the gate is left out)."""
    program = levels["program"]
    loudness = GaugeMetricFamily(f"{PREFIX}_audio_loudness_lufs",
                                 "Program loudness (EBU R128), by window", labels=["window"])
    for window, key in (("momentary", "momentaryLufs"), ("short_term", "shortTermLufs"),
                        ("integrated", "integratedLufs")):
        if program.get(key) is not None:
            loudness.add_metric([window], program[key])
    yield loudness
    yield _gauge("audio_true_peak_dbtp", "Program true peak over the last 3 s",
                 program["truePeakDb"])
    yield _gauge("audio_normaliser_gain_db", "Gain the loudness normaliser applies",
                 program["gainDb"])
    peak = GaugeMetricFamily(f"{PREFIX}_audio_peak_dbfs",
                             "Sample peak of the latest block, by source", labels=["source"])
    rms = GaugeMetricFamily(f"{PREFIX}_audio_rms_dbfs",
                            "RMS of the latest block, by source", labels=["source"])
    sources = {"program": program, "bed": levels["bed"],
               **{f"layer:{layer_id}": each for layer_id, each in levels["layers"].items()}}
    for source, each in sorted(sources.items()):
        peak.add_metric([source], each["peakDb"])
        rms.add_metric([source], each["rmsDb"])
    yield peak
    yield rms


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=float(value))
