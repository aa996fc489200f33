"""Channels: their wire rules, the output they render at and its cost, and the registry's
rules (unique names, versions, If-Match, MAX_CHANNELS, what delete refuses and removes),
against a real Redis."""

from __future__ import annotations

import dataclasses
import json

import pytest
import redis
from marshmallow import ValidationError

from core.channels import (
    SOURCE_COST,
    ChannelOutput,
    channel_cost,
    effective_output,
    load_channel_patch,
    load_new_channel,
)
from core.commit import Outcome
from core.config import Settings
from core.errors import UnknownChannel
from core.keys import Keys
from core.layers import load_new_layer
from core.schemas.fields import flatten_messages
from core.store import StateStore, now_ms
from core.store.channels import ChannelStore


@pytest.fixture
def channels(settings: Settings, redis_client: redis.Redis) -> ChannelStore:
    return ChannelStore(redis_client, Keys(settings.redis_prefix), settings)


def _errors(load, wire: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        load(wire)
    return flatten_messages(caught.value.messages)


def _create(channels: ChannelStore, channel_id: str, name: str | None = None,
            **output: int) -> Outcome:
    return channels.create(f"c-{channel_id}-{now_ms()}", load_new_channel(
        {"id": channel_id, "name": name or channel_id.title(), "output": output}))


@pytest.mark.parametrize(("wire", "fields"), [
    ({"name": "x"}, {"id"}),
    ({"id": "news"}, {"name"}),
    ({"id": "News", "name": "x"}, {"id"}),
    ({"id": "-news", "name": "x"}, {"id"}),
    ({"id": "a" * 33, "name": "x"}, {"id"}),
    ({"id": "a:b", "name": "x"}, {"id"}),
    ({"id": "news", "name": ""}, {"name"}),
    ({"id": "news", "name": "n" * 101}, {"name"}),
    ({"id": "news", "name": "x", "output": {"width": 1281}}, {"output.width"}),
    ({"id": "news", "name": "x", "output": {"width": 158, "height": 4000}},
     {"output.width", "output.height"}),
    ({"id": "news", "name": "x", "output": {"fps": 61}}, {"output.fps"}),
    ({"id": "news", "name": "x", "output": {"fps": "30"}}, {"output.fps"}),
    ({"id": "news", "name": "x", "output": {"videoBitrate": 99_999}}, {"output.videoBitrate"}),
    ({"id": "news", "name": "x", "output": {"depth": 8}}, {"output.depth"}),
    ({"id": "news", "name": "x", "state": "live"}, {"state"}),
])
def test_a_new_channel_is_checked_field_by_field(wire: dict, fields: set[str]) -> None:
    assert set(_errors(load_new_channel, wire)) == fields


def test_a_change_must_change_something_and_keeps_the_rules() -> None:
    assert set(_errors(load_channel_patch, {})) == {"_schema"}
    assert set(_errors(load_channel_patch, {"output": {"height": 91}})) == {"output.height"}
    assert set(_errors(load_channel_patch, {"id": "other"})) == {"id"}
    patch = load_channel_patch({"output": {"fps": None, "width": 640}})
    assert patch.output_fields == {"fps", "width"} and patch.output.width == 640


def test_the_effective_output_fills_what_a_channel_leaves_to_the_deployment(
        channels: ChannelStore, settings: Settings) -> None:
    created = _create(channels, "news", fps=25, width=1920, height=1080)
    assert created.status == 201
    assert created.body["output"] == {"width": 1920, "height": 1080, "fps": 25,
                                      "videoBitrate": settings.video_bitrate}
    stored = json.loads(channels.redis.hget(channels.keys.channels, "news"))
    assert stored["output"] == {"width": 1920, "height": 1080, "fps": 25}
    bigger = dataclasses.replace(settings, video_bitrate=6_000_000)
    assert effective_output(channels.get("news"), bigger).video_bitrate == 6_000_000


def test_a_channel_costs_its_pixel_rate_over_720p30() -> None:
    assert channel_cost(ChannelOutput(1280, 720, 30, 4_500_000)) == 1.0
    assert channel_cost(ChannelOutput(1920, 1080, 30, 4_500_000)) == 2.25
    assert channel_cost(ChannelOutput(640, 360, 30, 1_000_000)) == 0.25
    assert SOURCE_COST == 0.25


def test_channels_are_listed_default_first_and_names_are_unique(
        channels: ChannelStore) -> None:
    assert channels.ids() == ["default"]
    assert channels.get("default").name == "Default"
    assert _create(channels, "sport").status == 201
    assert _create(channels, "news").status == 201
    assert channels.ids() == ["default", "news", "sport"]
    listed = channels.list()
    assert [channel.id for channel in listed][0] == "default" and len(listed) == 3
    assert listed[1].created_at <= listed[2].created_at

    taken = _create(channels, "news2", name="News")
    assert taken.status == 409 and taken.body["fields"] == {"name": "already taken"}
    again = _create(channels, "news", name="Other")
    assert again.status == 409 and again.body["fields"] == {"id": "already taken"}
    assert _create(channels, "default", name="Mine").status == 409
    with pytest.raises(UnknownChannel):
        channels.get("weather")
    assert not channels.exists("weather") and channels.exists("default")


def test_creating_a_channel_writes_nothing_under_any_channel(channels: ChannelStore,
                                                            settings: Settings) -> None:
    _create(channels, "news")
    assert not list(channels.redis.scan_iter(f"{settings.redis_prefix}ch:*"))


def test_a_change_bumps_the_version_once_and_honours_if_match(
        channels: ChannelStore) -> None:
    _create(channels, "news")
    renamed = channels.update("u1", "news", load_channel_patch({"name": "Headlines"}), 1)
    assert renamed.status == 200 and renamed.body["version"] == 2
    assert channels.redis.hgetall(channels.keys.channel_names) == {
        "Default": "default", "Headlines": "news"}
    stale = channels.update("u2", "news", load_channel_patch({"name": "Late"}), 1)
    assert stale.status == 412 and stale.body["current"]["version"] == 2
    # The same command again answers its first outcome, and changes nothing more.
    assert channels.update("u1", "news", load_channel_patch({"name": "Headlines"}), 1) == renamed
    resized = channels.update("u3", "news", load_channel_patch({"output": {"fps": 50}}))
    assert resized.body["output"]["fps"] == 50 and resized.body["version"] == 3
    reset = channels.update("u4", "news", load_channel_patch({"output": {"fps": None}}))
    assert reset.body["output"]["fps"] == channels.settings.render_fps
    assert channels.get("news").version == 4
    missing = channels.update("u5", "gone", load_channel_patch({"name": "x"}))
    assert missing.status == 404 and missing.body["fields"] == {"channel": "unknown channel"}


def test_the_output_of_a_running_channel_cannot_change(channels: ChannelStore,
                                                       settings: Settings) -> None:
    _create(channels, "news")
    news = StateStore.from_settings(settings, channels.redis, channel="news")
    news.set_stream_state("s1", "start")
    refused = channels.update("u1", "news", load_channel_patch({"output": {"fps": 25}}))
    assert refused.status == 409 and "stop the channel first" in refused.body["message"]
    assert channels.update("u2", "news", load_channel_patch({"name": "N"})).status == 200
    news.set_stream_state("s2", "stop")
    assert channels.update("u3", "news", load_channel_patch({"output": {"fps": 25}})).status \
        == 200


def test_no_more_than_max_channels(settings: Settings, redis_client: redis.Redis) -> None:
    small = ChannelStore(redis_client, Keys(settings.redis_prefix),
                         dataclasses.replace(settings, max_channels=3))
    assert [_create(small, name).status for name in ("a", "b")] == [201, 201]
    full = _create(small, "c")
    assert full.status == 409 and full.body["fields"] == {"channels": "limit is 3"}
    assert small.ids() == ["default", "a", "b"]


def test_delete_refuses_the_default_and_running_channels(channels: ChannelStore,
                                                         settings: Settings) -> None:
    refused = channels.delete("d0", "default")
    assert refused.status == 409 and refused.body["fields"] == {"channel": "is the default channel"}
    _create(channels, "news")
    news = StateStore.from_settings(settings, channels.redis, channel="news")
    news.set_stream_state("s1", "start")
    assert channels.delete("d1", "news").status == 409
    news.set_stream_state("s2", "stop")
    # Stopped, but a render process still reports it on air (it is closing its outputs).
    news.live.write_telemetry({"streaming": True})
    news.live.beat("node-1/1", "active", 1, "h")
    streaming = channels.delete("d2", "news")
    assert streaming.status == 409 and streaming.body["fields"] == {"state": "still streaming"}
    news.live.write_telemetry({"streaming": False})
    assert channels.delete("d3", "news").status == 204
    assert channels.delete("d4", "news").status == 404


def test_delete_removes_every_key_of_the_channel_and_no_other(
        channels: ChannelStore, settings: Settings) -> None:
    _create(channels, "news")
    _create(channels, "news-2")
    stores = {name: StateStore.from_settings(settings, channels.redis, channel=name)
              for name in ("default", "news", "news-2")}
    for name, store in stores.items():
        store.create_layer(f"l-{name}", load_new_layer(
            {"type": "color", "content": {"color": "#00ff00"}}))
        store.post_chat(f"c-{name}", "ann", name)
    channels.redis.hset(channels.keys.placement, "news", json.dumps({"state": "unplaced"}))
    channels.redis.set(stores["news"].keys.render_epoch, 7)
    others = {key for key in channels.redis.scan_iter(f"{settings.redis_prefix}*")
              if not key.startswith(stores["news"].keys.scope)}

    assert channels.delete("d1", "news").status == 204
    left = set(channels.redis.scan_iter(f"{settings.redis_prefix}*"))
    assert not {key for key in left if key.startswith(stores["news"].keys.scope)}
    assert others - left == set() or others - left == {channels.keys.placement}
    assert not channels.redis.hexists(channels.keys.placement, "news")
    assert channels.redis.hget(channels.keys.channel_names, "News") is None
    assert [layer.id for layer in stores["news-2"].layers()] and stores["news-2"].chat(5)

    # A command for the deleted channel that raced the delete writes nothing.
    late = stores["news"].post_chat("late", "ann", "too late")
    assert late.status == 404 and late.body["fields"] == {"channel": "unknown channel"}
    assert not list(channels.redis.scan_iter(f"{stores['news'].keys.scope}*"))
