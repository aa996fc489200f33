"""Cues in the store: create, read, cancel, and record each time one falls due.

Each cue is a JSON value in `Keys.cues`. A scheduled one also has an entry in
`Keys.cue_schedule` (`{"dueAt", "onLayers"}`), written in the same commit, which the beat
polls several times a second (workers.beat) without reading every cue's action. A run is
recorded once per due time however often its task is delivered: a one-shot cue then reads
done, missed or failed; a cron cue moves on to its next time after now.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import redis
from marshmallow import Schema, post_load

from core import events
from core.commit import Change, ListOp, Outcome, Plan, dumps
from core.cues import Cue, CueRun, DueCue, NewCue, dump_cue, load_cue
from core.cues.schedule import ScheduleError, next_cron_time
from core.errors import InvalidInput, LimitExceeded
from core.keys import Keys
from core.schemas.fields import Boolean, epoch_ms
from core.store.values import StoredValues

log = logging.getLogger(__name__)

Runner = Callable[[str, Callable[[], Plan]], Outcome]
# A run's result and the state a one-shot cue is left in.
_FINAL_STATE = {"ok": "done", "missed": "missed", "failed": "failed"}


class _DueSchema(Schema):
    """An entry of the schedule index."""

    due_at = epoch_ms(data_key="dueAt", required=True)
    on_layers = Boolean(data_key="onLayers", required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return data


_DUE = _DueSchema()


class CueStore:
    """Reads and atomically changes the cues (reached as `StateStore.cues`)."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues, run: Runner,
                 clock: Callable[[], int], max_cues: int) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._run = run
        self._clock = clock
        self.max_cues = max_cues

    # ---- reads ---------------------------------------------------------------------------

    def all(self) -> list[Cue]:
        """Every valid cue: the scheduled ones by when they fall due, then the rest newest
        first."""
        found = []
        raws = cast(dict[str, str], self.redis.hgetall(self.keys.cues))
        for cue_id, raw in raws.items():
            cue = self._values.parse(self.keys.cues, cue_id, raw, load_cue)
            if cue is not None:
                found.append(cue)
        scheduled = sorted((cue for cue in found if cue.next_at is not None),
                           key=lambda cue: (cue.next_at, cue.id))
        rest = sorted((cue for cue in found if cue.next_at is None),
                      key=lambda cue: (-cue.created_at, cue.id))
        return scheduled + rest

    def get(self, cue_id: str) -> Cue:
        """One cue, or NotFound."""
        return self._read(cue_id)[1]

    def find(self, cue_id: str) -> Cue | None:
        """One cue, or None when there is none with that id."""
        raw = cast(str | None, self.redis.hget(self.keys.cues, cue_id))
        return self._values.parse(self.keys.cues, cue_id, raw, load_cue)

    def due(self, until_ms: int) -> list[DueCue]:
        """The scheduled cues that fall due at or before `until_ms`, soonest first (one read
        of the small schedule index)."""
        entries = cast(dict[str, str], self.redis.hgetall(self.keys.cue_schedule))
        found = []
        for cue_id, raw in entries.items():
            entry = self._values.parse(self.keys.cue_schedule, cue_id, raw, _DUE.load)
            if entry is not None and entry["due_at"] <= until_ms:
                found.append(DueCue(cue_id, entry["due_at"], entry["on_layers"]))
        return sorted(found, key=lambda due: (due.due_at, due.id))

    # ---- mutations -----------------------------------------------------------------------

    def create(self, command_id: str, new: NewCue) -> Outcome:
        """Add a cue (at most max_cues, scheduled or past); a take's scene must exist."""
        cue_id = secrets.token_hex(6)

        def plan() -> Plan:
            now = self._clock()
            scene_id = new.action.scene_id
            # The scenes' own store is beside this one; whether a scene exists is one HEXISTS.
            if scene_id is not None and not self.redis.hexists(self.keys.scenes, scene_id):
                raise InvalidInput("no scene has that id", {"action.sceneId": "unknown scene"})
            next_at = new.at if new.cron is None else next_cron_time(
                new.cron, new.timezone, now)
            cue = Cue(id=cue_id, name=new.name, at=new.at, cron=new.cron,
                      timezone=new.timezone, grace_ms=new.grace_ms, action=new.action,
                      state="scheduled", next_at=next_at, created_at=now, runs=0,
                      last_run=None)
            shown = dump_cue(cue)
            return Plan(
                Outcome(201, shown),
                [Change(self.keys.cues, cue_id, None, dumps(dump_cue(cue, secrets=True))),
                 Change(self.keys.cue_schedule, cue_id, None, _schedule_entry(cue))],
                event=(events.CUE_SAVED, shown),
                cap=(self.keys.cues, self.max_cues, LimitExceeded(
                    f"at most {self.max_cues} cues (MAX_CUES), scheduled or past; delete some",
                    {"cues": f"limit is {self.max_cues}"})))

        return self._run(command_id, plan)

    def delete(self, command_id: str, cue_id: str) -> Outcome:
        """Remove a cue: a scheduled one never runs (204)."""

        def plan() -> Plan:
            raw, _cue = self._read(cue_id)
            changes = [Change(self.keys.cues, cue_id, raw, None)]
            scheduled = self._schedule_raw(cue_id)
            if scheduled is not None:
                changes.append(Change(self.keys.cue_schedule, cue_id, scheduled, None))
            return Plan(Outcome(204, None), changes, event=(events.CUE_DELETED, {"id": cue_id}))

        return self._run(command_id, plan)

    def record_run(self, cue_id: str, due_at: int, result: str, status: int | None,
                   seq: int | None = None, error: str | None = None) -> dict[str, Any] | None:
        """Record that the cue fell due at `due_at` (once: a second record of the same time
        changes nothing). Answers the cue after as reads show it, or None when it is gone."""

        def plan() -> Plan:
            raw = cast(str | None, self.redis.hget(self.keys.cues, cue_id))
            cue = self._values.parse(self.keys.cues, cue_id, raw, load_cue)
            scheduled = self._schedule_raw(cue_id)
            if raw is None or cue is None:
                # Gone (deleted, or quarantined as corrupt): its schedule entry goes too.
                changes = [] if scheduled is None else [
                    Change(self.keys.cue_schedule, cue_id, scheduled, None)]
                return Plan(Outcome(404, None), changes)
            if cue.state != "scheduled" or cue.next_at != due_at:
                return Plan(Outcome(200, dump_cue(cue)))  # recorded already
            now = self._clock()
            run = CueRun(due_at=due_at, ran_at=now, result=result, status=status, seq=seq,
                         error=error)
            after = _advanced(replace(cue, runs=cue.runs + 1, last_run=run), now)
            changes = [Change(self.keys.cues, cue_id, raw, dumps(dump_cue(after, secrets=True))),
                       Change(self.keys.cue_schedule, cue_id, scheduled,
                              None if after.next_at is None else _schedule_entry(after))]
            shown = dump_cue(after)
            # Counted in the same commit, so a redelivered record never counts twice.
            counted = ListOp(self.keys.health_counters, "incr", f"cues:{result}")
            return Plan(Outcome(200, shown), changes, event=(events.CUE_SAVED, shown),
                        lists=[counted])

        # The outcome is kept under this id like any command's (GET /stream/commands shows
        # it): it is the cue as reads show it, secrets masked.
        outcome = self._run(f"cue-{cue_id}-{due_at}-run", plan)
        found: dict[str, Any] | None = outcome.body if outcome.status == 200 else None
        return found

    # ---- internals -----------------------------------------------------------------------

    def _read(self, cue_id: str) -> tuple[str, Cue]:
        raw = cast(str | None, self.redis.hget(self.keys.cues, cue_id))
        cue = self._values.require(self.keys.cues, cue_id, raw, load_cue, "cue")
        return cast(str, raw), cue

    def _schedule_raw(self, cue_id: str) -> str | None:
        return cast(str | None, self.redis.hget(self.keys.cue_schedule, cue_id))


def _advanced(cue: Cue, now: int) -> Cue:
    """A cue after a run: a one-shot cue is finished (its state the run's result); a cron
    cue is due next at its first time after now (and after the run's own time)."""
    assert cue.last_run is not None
    if cue.cron is None:
        return replace(cue, state=_FINAL_STATE[cue.last_run.result], next_at=None)
    try:
        next_at = next_cron_time(cue.cron, cue.timezone, max(now, cue.last_run.due_at))
    except ScheduleError as exc:
        log.error("cue %s: its cron expression names no next time (%s); it is finished",
                  cue.id, exc)
        return replace(cue, state="failed", next_at=None)
    return replace(cue, next_at=next_at)


def _schedule_entry(cue: Cue) -> str:
    return dumps({"dueAt": cue.next_at, "onLayers": cue.action.on_layers})
