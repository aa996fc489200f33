"""Cue tasks: add and cancel cues (sent by the API), and run one when it falls due (sent by
the beat that holds the lease, workers.beat).

A run's command id is `cue-<id>-<dueAt>`: however often its task is delivered (a redelivery,
two beats at a lease handover), the action applies once and the run is recorded once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from marshmallow import ValidationError

from core import tasks as names
from core.commit import Outcome
from core.cues import Cue, load_new_cue
from core.errors import InvalidInput
from core.keys import DEFAULT_CHANNEL
from core.schemas.fields import flatten_messages
from core.show import Actor
from core.store import StateStore, now_ms
from workers.tasks import RETRY, store_of

log = logging.getLogger(__name__)

CUE_ACTOR = Actor("cue", "system")


@shared_task(name=names.CREATE_CUE, **RETRY)
def create_cue(self: Task, command_id: str, cue: dict[str, Any], asked_at: int,
               actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Add a cue sent as camelCase JSON with `at` or `cron` (the API checked it, and turned
    inMs into at; it is loaded again here, its age judged from `asked_at`, when the client
    asked)."""
    store = store_of(self, channel)
    try:
        new = load_new_cue(cue, asked_at)
    except ValidationError as exc:
        refused = InvalidInput("the cue is not valid", flatten_messages(exc.messages))
        return store.refuse(command_id, refused).status
    return store.cues.create(command_id, new).status


@shared_task(name=names.DELETE_CUE, **RETRY)
def delete_cue(self: Task, command_id: str, cue_id: str,
               actor: dict[str, Any] | None = None, channel: str = DEFAULT_CHANNEL) -> int:
    """Cancel a cue: it is removed and never runs."""
    return store_of(self, channel).cues.delete(command_id, cue_id).status


@shared_task(name=names.FIRE_CUE, **RETRY)
def fire_cue(self: Task, cue_id: str, due_at: int, channel: str = DEFAULT_CHANNEL) -> str | None:
    """Run cue `cue_id` for its time `due_at` (epoch ms), or record it missed when it is
    later than its grace; answers the run's result (None when there was nothing to run)."""
    store = store_of(self, channel)
    cue = store.cues.find(cue_id)
    if cue is None:
        # Cancelled (or quarantined as corrupt): recording finds it gone and drops whatever is
        # left of its schedule, so the beat stops sending it.
        store.cues.record_run(cue_id, due_at, "missed", None)
        return None
    if cue.state != "scheduled" or cue.next_at != due_at:
        return None  # this time was recorded already: a late copy of the message
    command_id = f"cue-{cue_id}-{due_at}"
    applied = store.command(command_id)
    if isinstance(applied, Outcome):
        outcome = applied  # applied by an earlier delivery that died before recording
    else:
        late_ms = now_ms() - due_at
        if late_ms > cue.grace_ms:
            log.warning("cue %s (%s) missed: %d ms late, grace %d ms", cue_id, cue.name,
                        late_ms, cue.grace_ms)
            store.cues.record_run(cue_id, due_at, "missed", None)
            return "missed"
        outcome = _run_action(store, cue, command_id, due_at)
    result = "ok" if outcome.status < 300 else "failed"
    body = outcome.body if isinstance(outcome.body, dict) else {}
    seq = body.get("seq")
    error = None if result == "ok" else str(body.get("message", f"HTTP {outcome.status}"))
    if error is not None:
        log.warning("cue %s (%s) failed: %s", cue_id, cue.name, error)
    store.cues.record_run(cue_id, due_at, result, outcome.status,
                          seq if isinstance(seq, int) else None, error)
    return result


def _run_action(store: StateStore, cue: Cue, command_id: str, due_at: int) -> Outcome:
    """The cue's action as the system's change; batches and takes land on the first output
    frame at or after `due_at`."""
    action = cue.action
    if action.kind == "batch":
        return store.batch(command_id, list(action.operations), action.transition, CUE_ACTOR,
                           effective_at=due_at)
    if action.kind == "take":
        assert action.scene_id is not None
        return store.take_scene(command_id, action.scene_id, action.transition, CUE_ACTOR,
                                effective_at=due_at)
    return store.set_stream_state(command_id, action.kind, actor=CUE_ACTOR)
