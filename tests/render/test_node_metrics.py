"""A render node's metrics endpoint serves its channel processes' metrics, each sample with its
`channel`, beside the node's own figures: a real `python -m render` node holding two channels
(two real `python -m render.channel` processes), scraped over HTTP. And a channel process that
does not answer costs a scrape at most the collector's budget."""

from __future__ import annotations

import socket
import time

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core.channels import NewChannel
from core.config import Settings
from core.keys import Keys
from core.store.channels import ChannelStore
from render.node_metrics import SCRAPE_BUDGET, NodeCollector, NodeView
from tests.support.metrics import Scrape, scrape
from tests.support.processes import wait_until

SIZE = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": "30", "RECORD": "off"}


def test_a_node_labels_each_channel_process_metrics_with_its_channel(
        settings: Settings, redis_client: redis.Redis, render_workers) -> None:
    ChannelStore(redis_client, Keys(settings.redis_prefix), settings).create(
        "deploy-news", NewChannel(id="news", name="News"))
    node = render_workers.start(RENDER_CAPACITY="4", **SIZE)
    url = render_workers.metrics_url(node)

    def both_held() -> Scrape | None:
        found = scrape(url)
        held = {channel: found.total("stream_manager_render_active", channel=channel)
                for channel in ("default", "news")}
        return found if held == {"default": 1, "news": 1} else None

    found = wait_until(both_held, 30, "both channels held and scraped through the node")
    assert found.labels("stream_manager_render_target_fps", "channel") == {"default", "news"}
    assert found.total("stream_manager_render_target_fps", channel="news") == 30
    assert found.families["stream_manager_render_frame_seconds"] == "histogram"
    # every figure of a channel process names its channel; the node's own figures do not
    for name, samples in found.samples.items():
        if name.startswith("stream_manager_render_node_"):
            continue
        assert name.startswith("stream_manager_render_"), name
        assert all(labels.get("channel") in ("default", "news") for labels, _ in samples), name
    assert found.total("stream_manager_render_node_capacity") == 4
    assert found.total("stream_manager_render_node_channels") == 2
    assert found.total("stream_manager_render_node_placer") == 1
    assert found.total("stream_manager_render_node_draining") == 0
    assert found.labels("stream_manager_render_node_channel_up", "channel") == {"default", "news"}
    assert found.total("stream_manager_render_node_channel_up") == 2


def test_a_channel_process_that_does_not_answer_costs_the_scrape_its_budget() -> None:
    """A process that accepts the connection and never answers (a frozen one) is left out of
    the scrape after SCRAPE_BUDGET, reads channel_up 0, and the scrape answers."""
    with socket.socket() as stuck:
        stuck.bind(("127.0.0.1", 0))
        stuck.listen()
        view = NodeView(capacity=2.0, load=1.0, channels=1, draining=False, placer=True,
                        ports={"stuck": stuck.getsockname()[1], "starting": None})
        registry = CollectorRegistry()
        registry.register(NodeCollector(lambda: view))
        started = time.monotonic()
        text = generate_latest(registry).decode()
        took = time.monotonic() - started
    assert took < SCRAPE_BUDGET + 0.2, took
    up = {sample.labels["channel"]: sample.value
          for family in text_string_to_metric_families(text)
          if family.name == "stream_manager_render_node_channel_up"
          for sample in family.samples}
    assert up == {"stuck": 0.0, "starting": 0.0}
    assert "stream_manager_render_node_load 1.0" in text
