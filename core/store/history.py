"""The history of changes and the undo and redo stacks.

The history is the event stream itself: each change the history records puts its entry beside
its event (fields `seq` and `change`, written by the commit script, core.commit), so nothing
can change without its entry and the history is as long as the event stream keeps
(EVENTS_MAXLEN). An entry is `{seq, at, source, role, op, ids, before, after, undoable}`, with
layers as reads show them: an input's URL is masked, and outputs' keys are never in an event.

Undo and redo need the layers whole, secrets included, which the history must not show: the
undo stack (a capped list, UNDO_DEPTH) holds `<seq>|{"op", "changes": [{"id", "before",
"after"}]}` for each undoable change, newest first. Undo restores the newest record's `before`
as a new change and moves the record to the redo stack; redo restores its `after` and moves it
back. A new change from the API or a cue empties the redo stack, as editors do.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from core.commit import SEQ, ListOp, dumps
from core.keys import Keys
from core.layers import Layer, load_layer
from core.layers.schemas import mask_secrets
from core.show import Actor

log = logging.getLogger(__name__)

# Events read per round trip while looking for history entries.
PAGE = 500



@dataclass(frozen=True)
class Difference:
    """One layer a change touches: its JSON as read and as it will be stored (None: absent),
    whole (secrets included: the stored form)."""

    id: str
    before_wire: dict[str, Any] | None
    after_wire: dict[str, Any] | None


@dataclass(frozen=True)
class UndoRecord:
    """One entry of the undo or redo stack: the change's number, op and layers whole."""

    raw: str
    seq: int
    op: str
    changes: list[tuple[str, Layer | None, Layer | None]]

    @classmethod
    def parse(cls, raw: str) -> UndoRecord:
        """A stack entry as stored (ValueError if it is not one)."""
        seq, _, body = raw.partition("|")
        record = json.loads(body)
        changes = [(str(change["id"]), _layer(change["before"]), _layer(change["after"]))
                   for change in record["changes"]]
        return cls(raw, int(seq), str(record["op"]), changes)


@dataclass(frozen=True)
class HistoryRecord:
    """How one change is recorded: undoable or not, and for undo and redo the stack entry it
    consumes (`popped`, which must still be the head when it commits)."""

    keys: Keys
    depth: int
    undoable: bool = True
    popped: UndoRecord | None = None

    def entry(self, op: str, actor: Actor, differences: Sequence[Difference], now: int,
              effective_at: int | None = None) -> tuple[dict[str, Any], list[ListOp]]:
        """The history entry and the stack operations of a change."""
        entry: dict[str, Any] = {
            "at": now, "source": actor.source, "role": actor.role, "op": op,
            "ids": [difference.id for difference in differences],
            "before": [_shown(difference.before_wire) for difference in differences],
            "after": [_shown(difference.after_wire) for difference in differences],
            "undoable": self.undoable,
        }
        if effective_at is not None:
            entry["effectiveAt"] = effective_at
        if self.popped is not None:
            entry["undid" if actor.source == "undo" else "redid"] = self.popped.seq
        return entry, self._stacks(op, actor, differences)

    def consumed_only(self, source: str) -> list[ListOp]:
        """The stack operations of an undo or redo (`source`) that found nothing left to
        change: its entry still moves to the other stack."""
        return self._stacks("", Actor(source, "system"), [])

    def _stacks(self, op: str, actor: Actor, differences: Sequence[Difference]) -> list[ListOp]:
        keys, depth = self.keys, self.depth
        if actor.source == "undo" and self.popped is not None:
            return [ListOp(keys.undo, "pop", expected=self.popped.raw),
                    ListOp(keys.redo, "push", self.popped.raw, cap=depth)]
        if actor.source == "redo" and self.popped is not None:
            return [ListOp(keys.redo, "pop", expected=self.popped.raw),
                    ListOp(keys.undo, "push", f"{SEQ}|{self.popped.raw.partition('|')[2]}",
                           cap=depth)]
        if not self.undoable:
            return []
        record = {"op": op, "changes": [
            {"id": difference.id, "before": difference.before_wire,
             "after": difference.after_wire} for difference in differences]}
        return [ListOp(keys.undo, "push", f"{SEQ}|{dumps(record)}", cap=depth),
                ListOp(keys.redo, "clear")]


def state_entry(op: str, actor: Actor, before: dict[str, Any] | None,
                after: dict[str, Any] | None, now: int, ids: Sequence[str] = ()
                ) -> dict[str, Any]:
    """The history entry of a change that is not undoable (no layer's: the stream's state,
    an output without its key, the audio settings); `ids` names what it changed."""
    return {"at": now, "source": actor.source, "role": actor.role, "op": op, "ids": list(ids),
            "before": [before], "after": [after], "undoable": False}


class History:
    """Reads the history from the event stream, and the heads of the undo and redo stacks."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def entries(self, limit: int, before: int | None = None) -> dict[str, Any]:
        """The newest `limit` entries older than `before` (a seq), newest first, and `next`:
        the seq to ask before for the page after (None at the end)."""
        undone = {record.seq for record in self._stack(self.keys.redo)}
        found: list[dict[str, Any]] = []
        upper = "+"
        while len(found) <= limit:
            page = cast(list[tuple[str, dict[str, str]]],
                        self.redis.xrevrange(self.keys.events, max=upper, count=PAGE))
            for entry_id, fields in page:
                entry = _entry(entry_id, fields)
                if entry is None or (before is not None and entry["seq"] >= before):
                    continue
                entry["undone"] = entry["seq"] in undone
                found.append(entry)
            if len(page) < PAGE:
                break
            upper = f"({page[-1][0]}"
        more = len(found) > limit
        return {"entries": found[:limit], "next": found[limit - 1]["seq"] if more else None}

    def head(self, stack: str) -> UndoRecord | None:
        """The newest entry of the undo or redo stack (a corrupt one is dropped)."""
        while True:
            raw = cast(str | None, self.redis.lindex(stack, 0))
            if raw is None:
                return None
            try:
                return UndoRecord.parse(raw)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("dropping a corrupt %s entry: %s", stack, exc)
                self.redis.lrem(stack, 1, raw)

    def _stack(self, stack: str) -> list[UndoRecord]:
        records = []
        for raw in cast(list[str], self.redis.lrange(stack, 0, -1)):
            try:
                records.append(UndoRecord.parse(raw))
            except (ValueError, KeyError, TypeError):
                continue  # `head` drops it when it reaches it
        return records


def _entry(entry_id: str, fields: dict[str, str]) -> dict[str, Any] | None:
    if "seq" not in fields or "change" not in fields:
        return None
    try:
        entry = json.loads(fields["change"])
        return {"seq": int(fields["seq"]), "eventId": entry_id, **entry}
    except ValueError as exc:
        log.error("skipping a malformed history entry %s: %s", entry_id, exc)
        return None


def _shown(wire: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if wire is None else mask_secrets(wire)


def _layer(wire: dict[str, Any] | None) -> Layer | None:
    return None if wire is None else load_layer(wire)
