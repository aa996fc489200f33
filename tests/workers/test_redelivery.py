"""A command delivered twice (as the broker does after a worker dies mid-task) applies once."""

import uuid

from core.commit import Outcome
from core.config import Settings
from core.layers import load_new_layer
from core.store import StateStore
from tests.support.processes import Process, wait_until
from workers import create_celery_app, tasks


def test_a_redelivered_update_is_applied_once(settings: Settings, store: StateStore,
                                              celery_worker: Process) -> None:
    created = store.create_layer("setup", load_new_layer(
        {"type": "color", "content": {"color": "#000000"}}))
    layer_id = created.body["id"]
    events_before = store.redis.xlen(store.keys.events)
    command_id = uuid.uuid4().hex
    publisher = create_celery_app(settings)
    kwargs = {"command_id": command_id, "layer_id": layer_id,
              "patch": {"transform": {"x": 42}}, "if_match": None}
    for _ in range(2):  # the same message twice, as a redelivery carries it
        publisher.send_task(tasks.update_layer.name, kwargs=kwargs)

    reply_key = store.keys.reply(command_id)
    wait_until(lambda: store.redis.llen(reply_key) >= 2, 15, "both deliveries answered")
    replies = store.redis.lrange(reply_key, 0, -1)
    assert store.layer(layer_id).version == 2
    assert store.layer(layer_id).transform.x == 42
    assert store.redis.xlen(store.keys.events) == events_before + 1
    assert replies[0] == replies[1]


def test_a_redelivered_create_makes_one_layer(settings: Settings, store: StateStore,
                                              celery_worker: Process) -> None:
    command_id = uuid.uuid4().hex
    layer = {"type": "text", "content": {"text": "once"}}
    publisher = create_celery_app(settings)
    for _ in range(3):
        publisher.send_task(tasks.create_layer.name,
                            kwargs={"command_id": command_id, "layer": layer})
    wait_until(lambda: store.redis.llen(store.keys.reply(command_id)) >= 3, 15,
               "three deliveries answered")
    assert len(store.layers()) == 1
    outcome = store.command(command_id)
    assert isinstance(outcome, Outcome)
    assert outcome.body["id"] == store.layers()[0].id
