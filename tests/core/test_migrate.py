"""Moving a deployment from before channels into channel `default`, against a real Redis:
every kind of key written under its old name is readable through the default channel's store
after, a second run changes nothing, and a fresh Redis gets the default channel."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis

from core.audio import load_patch
from core.channels import load_channel
from core.config import Settings
from core.cues import load_new_cue
from core.keys import LAYOUT_VERSION, LEGACY_SUFFIXES, Keys
from core.layers import load_new_layer
from core.outputs import load_new_output
from core.store import StateStore, now_ms
from core.store.migrate import migrate_to_channels


def _state_of(store: StateStore) -> dict[str, Any]:
    """What a client reads of every kind of state a channel owns."""
    return {
        "stream": store.stream(),
        "layers": [layer.id for layer in store.layers()],
        "chat": store.chat(10),
        "events": store.redis.xlen(store.keys.events),
        "outputs": store.output_reads(),
        "keys": store.redis.hgetall(store.keys.output_keys),
        "audio": store.audio_read()["master"],
        "scenes": [scene.name for scene in store.scenes.all()],
        "cues": [cue.name for cue in store.cues.all()],
        "history": [entry["seq"] for entry in store.history(10)["entries"]],
        "undo": store.redis.llen(store.keys.undo),
    }


def _write_everything(store: StateStore) -> None:
    """One of every channel-scoped kind of value, written as the commands write them."""
    store.set_stream_state("m-start", "start")
    layer = store.create_layer("m-layer", load_new_layer(
        {"type": "color", "name": "box", "content": {"color": "#ff0000"}})).body
    store.update_layer("m-move", layer["id"], {"transform": {"x": 5}})
    store.post_chat("m-chat", "ann", "hello")
    store.outputs.create("m-output", load_new_output(
        {"kind": "rtmp", "name": "ingest", "url": "rtmp://ingest.example/live/secret-key"}))
    store.audio.update("m-audio", load_patch({"master": {"volume": 0.5}}), None)
    store.scenes.create("m-scene", "opening", lambda now: store.layers())
    store.cues.create("m-cue", load_new_cue(
        {"name": "later", "at": now_ms() + 600_000, "action": {"kind": "stop"}}, now_ms()))
    store.redis.hset(store.keys.health_counters, "runs:render", 3)
    store.redis.lpush(store.keys.quarantine, '{"raw": "x"}')


def _to_legacy_layout(client: redis.Redis, keys: Keys) -> list[str]:
    """Rename every channel-scoped key to its name before channels; answers the old names."""
    old_names = []
    for suffix in LEGACY_SUFFIXES:
        scoped = f"{keys.scope}{suffix}"
        if client.exists(scoped):
            client.rename(scoped, keys.legacy(suffix))
            old_names.append(keys.legacy(suffix))
    client.delete(keys.layout, keys.channels, keys.channel_names)
    return old_names


def _snapshot(client: redis.Redis, settings: Settings) -> dict[str, bytes | None]:
    return {key: client.dump(key) for key in client.scan_iter(f"{settings.redis_prefix}*")
            if not key.startswith(f"{settings.redis_prefix}celery:")}


def test_a_deployment_from_before_channels_moves_into_default_once(
        store: StateStore, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    _write_everything(store)
    before = _state_of(store)
    old_names = _to_legacy_layout(store.redis, store.keys)
    # Every kind was there to move, under its old name, and nothing under a channel.
    assert {"stream", "layers", "chat", "events", "outputs", "outputs:keys", "audio",
            "scenes", "cues", "history:seq", "history:undo", "health:counters",
            "quarantine"} <= {name.removeprefix(settings.redis_prefix) for name in old_names}
    assert not list(store.redis.scan_iter(f"{settings.redis_prefix}ch:*"))

    with caplog.at_level(logging.INFO, "core.store.migrate"):
        assert migrate_to_channels(store.redis, store.keys) is True
    assert f"moved {len(old_names)} keys" in caplog.text

    assert not any(store.redis.exists(name) for name in old_names)
    assert _state_of(store) == before
    assert before["keys"] and before["chat"] and before["cues"] and before["history"]
    assert store.redis.get(store.keys.layout) == LAYOUT_VERSION
    default = load_channel(json.loads(
        store.redis.hget(store.keys.channels, "default")))
    assert (default.id, default.name, default.version) == ("default", "Default", 1)
    assert store.redis.hget(store.keys.channel_names, "Default") == "default"

    # Once migrated, a second run (another process starting) changes nothing.
    snapshot = _snapshot(store.redis, settings)
    assert migrate_to_channels(store.redis, store.keys) is False
    assert _snapshot(store.redis, settings) == snapshot


def test_a_fresh_redis_gets_the_default_channel(redis_client: redis.Redis,
                                                settings: Settings) -> None:
    keys = Keys(settings.redis_prefix)
    assert migrate_to_channels(redis_client, keys) is True
    assert set(redis_client.hkeys(keys.channels)) == {"default"}
    assert redis_client.get(keys.layout) == LAYOUT_VERSION
    assert migrate_to_channels(redis_client, keys) is False


def test_a_key_already_under_the_new_name_is_never_overwritten(
        store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    store.post_chat("new", "ann", "after channels")
    store.redis.lpush(store.keys.legacy("chat"), '{"stale": true}')
    with caplog.at_level(logging.WARNING, "core.store.migrate"):
        assert migrate_to_channels(store.redis, store.keys) is True
    assert [message["message"] for message in store.chat(10)] == ["after channels"]
    assert store.redis.llen(store.keys.legacy("chat")) == 1
    assert "was left in place" in caplog.text
