"""The render node's Prometheus metrics: its own figures, and every channel process's, merged.

A node serves one endpoint (RENDER_METRICS_PORT + its instance number). Each of its channel
processes serves its own metrics (render.metrics) on a port the system picked on 127.0.0.1 and
names that port in its render heartbeat; the node reads the ports into its record
(`children`). At every scrape `NodeCollector` fetches each child's /metrics in parallel (a
short timeout each, SCRAPE_BUDGET in all, so a hung child costs the scrape at most that),
parses it with prometheus_client's own parser, adds `channel="<id>"` to every sample and yields
the families merged, one family per name with the samples of every channel. Beside them: the
node's capacity, load, the channels placed on it, whether it drains and whether it is the
placer, and per channel whether its process answered this scrape.

The merge is transparent: a child's family keeps its name, type, help and labels; `channel`
is the only label added (docs/operations.md, "Metrics", lists the label set).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREFIX = "stream_manager_render_node"
CHANNEL_LABEL = "channel"
# One child's /metrics: a render process answers in a few milliseconds.
CHILD_TIMEOUT = 0.5
# All of them: what a scrape of the node may wait at most for its children.
SCRAPE_BUDGET = 0.8
MAX_FETCHES = 8
READ_ATTEMPTS = 3


class _PlacerLike(Protocol):
    @property
    def held(self) -> bool: ...


class NodeLike(Protocol):
    """What the collector reads of a render.node.Node."""

    @property
    def capacity(self) -> float: ...

    @property
    def placer(self) -> _PlacerLike: ...

    def record(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class NodeView:
    """The node's figures at one scrape."""

    capacity: float
    load: float
    channels: int
    draining: bool
    placer: bool
    ports: dict[str, int | None]  # channel -> its process's metrics port (None: not known yet)


def node_view(node: NodeLike) -> NodeView:
    """Read `node` from the scrape's thread. record() copies the node's dicts, which its main
    thread may change meanwhile: a copy that raced a change is made again."""
    for _attempt in range(READ_ATTEMPTS - 1):
        try:
            record = node.record()
            break
        except RuntimeError:  # dictionary changed size during iteration
            continue
    else:
        record = node.record()
    return NodeView(
        capacity=float(node.capacity), load=float(record["load"]),
        channels=len(record["channels"]), draining=bool(record["draining"]),
        placer=node.placer.held,
        ports={channel: child.get("metricsPort")
               for channel, child in record["children"].items()})


class NodeCollector(Collector):
    """The node's gauges and its children's families with a `channel` label (see the module's
    doc)."""

    def __init__(self, read: Callable[[], NodeView], budget: float = SCRAPE_BUDGET,
                 timeout: float = CHILD_TIMEOUT) -> None:
        self._read = read
        self._budget = budget
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(MAX_FETCHES, thread_name_prefix="node-metrics")

    @classmethod
    def of(cls, node: NodeLike) -> NodeCollector:
        """The collector of a running node."""
        return cls(lambda: node_view(node))

    def describe(self) -> list[Metric]:
        """Nothing up front: registering must not scrape the children."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The node's gauges, whether each channel answered, then the channels' families."""
        view = self._read()
        texts = self._fetch(view.ports)
        yield _gauge("capacity", "RENDER_CAPACITY: the cost units this node offers",
                     view.capacity)
        yield _gauge("load", "Cost of the channels placed on this node", view.load)
        yield _gauge("channels", "Channels placed on this node", view.channels)
        yield _gauge("draining", "1 while this node hands its channels over to leave",
                     view.draining)
        yield _gauge("placer", "1 while this node holds the placer lock", view.placer)
        answered = GaugeMetricFamily(
            f"{PREFIX}_channel_up", "1 when the channel's process on this node answered this "
            "scrape (it runs for every placed channel: leader or warm follower)",
            labels=[CHANNEL_LABEL])
        for channel in sorted(view.ports):
            answered.add_metric([channel], float(texts.get(channel) is not None))
        yield answered
        yield from merge(texts)

    def _fetch(self, ports: dict[str, int | None]) -> dict[str, str]:
        """channel -> its /metrics text, for the children that answered within the budget."""
        futures: dict[str, Future[str]] = {
            channel: self._pool.submit(_get, port, self._timeout)
            for channel, port in ports.items() if port}
        done, _late = wait(futures.values(), timeout=self._budget)
        texts = {}
        for channel, future in futures.items():
            if future not in done:
                log.debug("metrics of channel %s: no answer within %.1f s", channel,
                          self._budget)
            elif future.exception() is not None:
                log.debug("metrics of channel %s: %s", channel, future.exception())
            else:
                texts[channel] = future.result()
        return texts


def merge(texts: dict[str, str]) -> Iterator[Metric]:
    """Families of every channel's exposition, merged by name, each sample with `channel`.
    A text that does not parse is left out whole (logged), never half."""
    families: dict[str, Metric] = {}
    for channel, text in sorted(texts.items()):
        try:
            parsed = list(text_string_to_metric_families(text))
        except ValueError as exc:
            log.warning("metrics of channel %s do not parse: %s", channel, exc)
            continue
        for family in parsed:
            merged = families.get(family.name)
            if merged is None:
                merged = families[family.name] = Metric(
                    family.name, family.documentation, family.type, family.unit)
            for sample in family.samples:
                merged.add_sample(sample.name, {**sample.labels, CHANNEL_LABEL: channel},
                                  sample.value, sample.timestamp, sample.exemplar)
    yield from families.values()


def _get(port: int, timeout: float) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as reply:
        body: bytes = reply.read()
    return body.decode("utf-8")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=float(value))
