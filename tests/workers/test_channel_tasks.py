"""Tasks per channel, run by a real Celery worker (and a real beat): a command for a channel
changes only that channel's keys, a command for a channel that does not exist is answered
404 and creates nothing, the registry's own tasks, and a cue and the health checks of a
second channel run on that channel."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from core import tasks as names
from core.commit import Outcome
from core.config import Settings
from core.keys import Keys
from core.store import StateStore, now_ms
from tests.support.beat import wait_for_beat_lease
from tests.support.processes import Process, wait_until
from workers import StreamCelery, create_celery_app


@pytest.fixture(scope="module")
def publisher(settings: Settings) -> StreamCelery:
    return create_celery_app(settings)


def _run(publisher: StreamCelery, store: StateStore, task: str, **kwargs: Any) -> Outcome:
    """Send `task` as the API does and wait for its outcome."""
    command_id = uuid.uuid4().hex
    publisher.send_task(task, kwargs={"command_id": command_id, **kwargs})
    outcome = store.wait_for_outcome(store.redis, command_id, 15)
    assert outcome is not None, f"{task} was not answered"
    return outcome


def _keys(client: redis.Redis, settings: Settings) -> set[str]:
    """Every state key (not the broker's, commands' or replies')."""
    shared = tuple(f"{settings.redis_prefix}{part}" for part in ("celery:", "command:", "reply:"))
    return {key for key in client.scan_iter(f"{settings.redis_prefix}*")
            if not key.startswith(shared)}


def test_commands_for_a_channel_change_only_its_keys(
        publisher: StreamCelery, store: StateStore, settings: Settings,
        celery_worker: Process) -> None:
    created = _run(publisher, store, names.CREATE_CHANNEL,
                   channel_body={"id": "news", "name": "News", "output": {"fps": 25}})
    assert created.status == 201 and created.body["output"]["fps"] == 25
    store.stream()  # the default channel's record, written before the snapshot
    before = _keys(store.redis, settings)
    news = StateStore.from_settings(settings, store.redis, channel="news")

    layer = _run(publisher, store, names.CREATE_LAYER, channel="news",
                 layer={"type": "color", "content": {"color": "#0000ff"}})
    assert layer.status == 201
    assert _run(publisher, store, names.SET_STREAM_STATE, channel="news",
                action="start").body["state"] == "live"
    assert _run(publisher, store, names.POST_CHAT, channel="news", author="ann",
                message="hi").status == 201

    assert [found.id for found in news.layers()] == [layer.body["id"]]
    assert news.stream()["state"] == "live" and news.chat(5)[0]["message"] == "hi"
    assert store.layers() == [] and store.stream()["state"] == "stopped"
    assert store.chat(5) == []
    changed = _keys(store.redis, settings) - before
    assert changed and all(key.startswith(news.keys.scope) for key in changed), changed


def test_a_command_for_a_channel_that_does_not_exist_is_a_404(
        publisher: StreamCelery, store: StateStore, settings: Settings,
        celery_worker: Process) -> None:
    for channel in ("weather", "Not-A-Slug"):
        refused = _run(publisher, store, names.CREATE_LAYER, channel=channel,
                       layer={"type": "color", "content": {"color": "#0000ff"}})
        assert refused.status == 404
        assert refused.body["fields"] == {"channel": "unknown channel"}
    assert not list(store.redis.scan_iter(f"{Keys(settings.redis_prefix, 'weather').scope}*"))


def test_the_registry_tasks_create_change_and_delete(
        publisher: StreamCelery, store: StateStore, settings: Settings,
        celery_worker: Process) -> None:
    bad = _run(publisher, store, names.CREATE_CHANNEL, channel_body={"id": "x", "name": ""})
    assert bad.status == 400 and set(bad.body["fields"]) == {"name"}
    assert _run(publisher, store, names.CREATE_CHANNEL,
                channel_body={"id": "sport", "name": "Sport"}).status == 201
    renamed = _run(publisher, store, names.UPDATE_CHANNEL, channel_id="sport",
                   patch={"name": "Sports"}, if_match=1)
    assert renamed.status == 200 and renamed.body["version"] == 2
    assert _run(publisher, store, names.UPDATE_CHANNEL, channel_id="sport",
                patch={"name": "Late"}, if_match=1).status == 412
    _run(publisher, store, names.POST_CHAT, channel="sport", author="ann", message="hi")
    sport = Keys(settings.redis_prefix, "sport")
    assert store.redis.exists(sport.chat)
    assert _run(publisher, store, names.DELETE_CHANNEL, channel_id="sport").status == 204
    assert not list(store.redis.scan_iter(f"{sport.scope}*"))
    assert _run(publisher, store, names.DELETE_CHANNEL, channel_id="default").status == 409


def test_a_cue_and_the_checks_of_a_second_channel_run_on_that_channel(
        publisher: StreamCelery, store: StateStore, settings: Settings,
        beat: Process) -> None:
    _run(publisher, store, names.CREATE_CHANNEL, channel_body={"id": "news", "name": "News"})
    news = StateStore.from_settings(settings, store.redis, channel="news")
    wait_for_beat_lease(store)
    asked = now_ms()
    cue = _run(publisher, store, names.CREATE_CUE, channel="news", asked_at=asked,
               cue={"name": "go", "at": asked + 1000, "action": {"kind": "start"}})
    assert cue.status == 201, cue.body
    wait_until(lambda: news.cues.get(cue.body["id"]).state != "scheduled", 10,
               "the cue on channel news")
    ran = news.cues.get(cue.body["id"])
    assert ran.state == "done" and ran.last_run is not None and ran.last_run.result == "ok"
    assert news.stream()["state"] == "live"
    assert store.stream()["state"] == "stopped"
    # Each health check runs per channel, its results kept in the channel's own keys.
    wait_until(lambda: {"render", "chat", "preview_clients"} <= set(
        store.redis.hkeys(news.keys.health_checks)), 10, "news's health checks")
    assert news.redis.hget(news.keys.health_checks, "render")
