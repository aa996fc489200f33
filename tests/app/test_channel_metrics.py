"""The API's figures of a channel carry its `channel` label, one set per channel: the state
collector the gunicorn master serves on METRICS_PORT, read against a real Redis holding two
channels (one placed, one unplaced) and a layer made through the API."""

from __future__ import annotations

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import StateCollector
from app.services import ChannelStores
from core.channels import NewChannel
from core.config import Settings
from core.keys import Keys
from core.store.channels import ChannelStore
from core.store.placement import PlacementStore


def test_each_channel_has_its_own_labelled_figures(settings: Settings, redis_client: redis.Redis,
                                                   color_layer: dict) -> None:
    keys = Keys(settings.redis_prefix)
    ChannelStore(redis_client, keys, settings).create(
        "deploy-news", NewChannel(id="news", name="News"))
    placements = PlacementStore(redis_client, keys)
    redis_client.set(keys.placer_lock, "p1", px=60_000)  # as the placer holds it
    placements.assign("default", "n1", 1.0, placer="p1", takeover=False)
    placements.unplace("news", 1.0, "needs 1 units, the most free on any node is 0",
                       placer="p1")
    registry = CollectorRegistry()
    registry.register(StateCollector(ChannelStore(redis_client, keys, settings),
                                     ChannelStores(settings, redis_client), placements))
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value

    def by_channel(name: str, **labels: str) -> dict[str, float]:
        return {dict(found)["channel"]: value for found, value in samples[name].items()
                if labels.items() <= dict(found).items()}

    assert samples["stream_manager_redis_up"] == {(): 1.0}  # deployment-wide: no channel
    assert by_channel("stream_manager_layers") == {"default": 1, "news": 0}
    assert by_channel("stream_manager_stream_desired_state", state="stopped") == {
        "default": 1, "news": 1}
    assert by_channel("stream_manager_channel_placed") == {"default": 1, "news": 0}
    assert by_channel("stream_manager_health_checks_total", check="render") == {
        "default": 0, "news": 0}
    assert by_channel("stream_manager_cue_runs_total", result="missed") == {
        "default": 0, "news": 0}
