"""The one atomic write path: a compare-and-set commit done by a Lua script in Redis.

A mutation is planned in Python (where the schemas live) against the raw values it read, then
committed here in one step that
  1. returns the stored outcome if this command id already ran (a redelivered task);
  2. checks every value it read is unchanged, hash fields and list heads alike (else the
     caller re-plans);
  3. checks the cap on the number of fields in one hash (layers, outputs);
  4. writes the new values and list operations (chat, the undo and redo stacks), appends the
     event to the capped event stream, records the outcome under the command id, and pushes
     it to the reply list the API waits on.
A change to a channel that was deleted meanwhile is not applied (`gone`).

A change the history records carries its entry: the script numbers it (INCR of the history
sequence), puts `seq` and the entry beside the event, and writes the number where the outcome
or a pushed list value holds the SEQ marker, since it is known only inside the commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from core.errors import DomainError
from core.keys import DEFAULT_CHANNEL, Keys

_COMMIT = """
local done = redis.call('GET', KEYS[1])
if done then
  local ok, record = pcall(cjson.decode, done)
  if ok and type(record) == 'table' and record['state'] == 'done' then
    redis.call('RPUSH', KEYS[2], done)
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    return {'duplicate', done}
  end
end
local n = tonumber(ARGV[8])
local m = tonumber(ARGV[10])
-- A change to a channel other than `default` applies only while the channel exists (the last
-- KEYS is the channel registry, the last ARGV the channel's id or ''), so a command that
-- raced the channel's deletion leaves none of its keys behind. Refusals write nothing.
local guard = ARGV[#ARGV]
if guard ~= '' and (n > 0 or m > 0 or ARGV[5] ~= '')
    and redis.call('HEXISTS', KEYS[#KEYS], guard) == 0 then
  return {'gone'}
end
local capped = KEYS[5 + n]
local added = 0
for i = 1, n do
  local base = 10 + (i - 1) * 5
  local current = redis.call('HGET', KEYS[4 + i], ARGV[base + 1])
  local counts = KEYS[4 + i] == capped
  if ARGV[base + 2] == 'absent' then
    if current then return {'conflict'} end
    if counts then added = added + 1 end
  elseif current ~= ARGV[base + 3] then
    return {'conflict'}
  end
  if counts and ARGV[base + 4] == 'del' then added = added - 1 end
end
local lists = 10 + n * 5
for j = 1, m do
  local base = lists + (j - 1) * 4
  if ARGV[base + 1] == 'pop' and redis.call('LINDEX', KEYS[5 + n + j], 0) ~= ARGV[base + 3] then
    return {'conflict'}
  end
end
local cap = tonumber(ARGV[9])
if cap > 0 and added > 0 and redis.call('HLEN', KEYS[5 + n]) + added > cap then
  return {'limit'}
end
for i = 1, n do
  local base = 10 + (i - 1) * 5
  if ARGV[base + 4] == 'del' then
    redis.call('HDEL', KEYS[4 + i], ARGV[base + 1])
  else
    redis.call('HSET', KEYS[4 + i], ARGV[base + 1], ARGV[base + 5])
  end
end
local seq = ''
if ARGV[7] ~= '' then seq = tostring(redis.call('INCR', KEYS[4])) end
-- The change's sequence number is known only now: it replaces the marker in the outcome and
-- at the head of list values.
local function with_seq(text, marker)
  local at = string.find(text, marker, 1, true)
  if seq == '' or not at then return text end
  return string.sub(text, 1, at - 1) .. seq .. string.sub(text, at + string.len(marker))
end
for j = 1, m do
  local base = lists + (j - 1) * 4
  local key = KEYS[5 + n + j]
  if ARGV[base + 1] == 'push' then
    redis.call('LPUSH', key, with_seq(ARGV[base + 2], '@seq@'))
    redis.call('LTRIM', key, 0, tonumber(ARGV[base + 4]) - 1)
  elseif ARGV[base + 1] == 'pop' then
    redis.call('LPOP', key)
  elseif ARGV[base + 1] == 'incr' then
    redis.call('HINCRBY', key, ARGV[base + 2], 1)
  else
    redis.call('DEL', key)
  end
end
if ARGV[5] ~= '' then
  if seq ~= '' then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'type', ARGV[5], 'data', ARGV[6],
               'seq', seq, 'change', ARGV[7])
  else
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'type', ARGV[5], 'data', ARGV[6])
  end
end
local outcome = with_seq(ARGV[1], '"@seq@"')
redis.call('SET', KEYS[1], outcome, 'EX', ARGV[2])
redis.call('RPUSH', KEYS[2], outcome)
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {'ok', seq}
"""

_QUARANTINE = """
local current
if ARGV[1] == 'hash' then
  current = redis.call('HGET', KEYS[1], ARGV[2])
else
  current = redis.call('LINDEX', KEYS[1], ARGV[2])
end
if current ~= ARGV[3] then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[4])
redis.call('LTRIM', KEYS[2], 0, 99)
if ARGV[1] == 'list' then
  redis.call('LREM', KEYS[1], 1, ARGV[3])
elseif ARGV[5] == '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
else
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[5])
end
return 1
"""


@dataclass(frozen=True)
class Outcome:
    """What a command came to: an HTTP status and a JSON body (a resource or an error)."""

    status: int
    body: Any

    def to_json(self) -> str:
        """The stored form, marked done so a redelivery finds it."""
        return dumps({"state": "done", "status": self.status, "body": self.body})

    def with_seq(self, seq: int) -> Outcome:
        """The outcome with `seq` where its body says SEQ (what the commit stored)."""
        text = dumps(self.body).replace(f'"{SEQ}"', str(seq), 1)
        return Outcome(self.status, json.loads(text))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Outcome:
        """Rebuild an outcome from its stored form."""
        return cls(status=int(record["status"]), body=record.get("body"))


@dataclass(frozen=True)
class Pending:
    """A command that was sent and has no outcome yet (its task has not run)."""

    command_id: str


@dataclass(frozen=True)
class Change:
    """Set or delete one hash field, provided it still holds `expected` (None: absent)."""

    key: str
    field: str
    expected: str | None
    value: str | None


# Stands for the change's sequence number in an outcome body (as a JSON string) or at the head
# of a pushed list value; the commit script writes the number in its place.
SEQ = "@seq@"


@dataclass(frozen=True)
class ListOp:
    """One list operation of a commit: `push` (LPUSH `value`, keep the newest `cap`), `pop`
    (LPOP, provided the head is still `expected`) or `clear` (delete the list); or `incr`,
    which adds one to counter `value` of the hash `key` (counted only if the commit
    applies)."""

    key: str
    op: str
    value: str = ""
    expected: str = ""
    cap: int = 0


@dataclass
class Plan:
    """Everything one command writes, committed all at once or not at all."""

    outcome: Outcome
    changes: list[Change] = field(default_factory=list)
    event: tuple[str, Any] | None = None
    push: tuple[str, str, int] | None = None
    # (hash, most fields it may hold, the refusal when the change would pass that)
    cap: tuple[str, int, DomainError] | None = None
    lists: list[ListOp] = field(default_factory=list)
    # The history entry (core.store.history), written beside the event with its number.
    history: dict[str, Any] | None = None


class CommitResult:
    """Why a commit did not apply (`conflict`, `limit`) or what it answered."""

    APPLIED = "ok"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    LIMIT = "limit"
    GONE = "gone"


# How long a command's outcome guards against redelivery: far past the broker's 30 s
# visibility timeout and the tasks' retries.
COMMAND_TTL = 600


class Committer:
    """Runs plans through the Lua script; owns nothing but the scripts and the TTLs."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, events_maxlen: int,
        command_ttl: int = COMMAND_TTL, reply_ttl: int = 60,
    ) -> None:
        self._keys = keys
        self._events_maxlen = events_maxlen
        self._command_ttl = command_ttl
        self._reply_ttl = reply_ttl
        # `default` always exists; any other channel's changes check it still does.
        self._guard = "" if keys.channel == DEFAULT_CHANNEL else keys.channel
        self._commit = client.register_script(_COMMIT)
        self._quarantine = client.register_script(_QUARANTINE)

    def commit(self, command_id: str, plan: Plan) -> tuple[str, Outcome | None]:
        """Apply `plan` atomically; the second item is the stored outcome of a duplicate, or
        the applied outcome with its history number in place of SEQ."""
        # The script's KEYS are positional: an unused cap hash still takes its slot (a cap of
        # 0 tells the script to skip it).
        cap_key, cap = plan.cap[:2] if plan.cap else (self._keys.layers, 0)
        event_type, event_data = plan.event or ("", None)
        lists = list(plan.lists)
        if plan.push is not None:
            key, value, most = plan.push
            lists.append(ListOp(key, "push", value, cap=most))
        if plan.history is not None and not event_type:
            raise ValueError("a change the history records needs its event")
        keys = [self._keys.command(command_id), self._keys.reply(command_id), self._keys.events,
                self._keys.history_seq, *(change.key for change in plan.changes), cap_key,
                *(op.key for op in lists)]
        args: list[Any] = [
            plan.outcome.to_json(), self._command_ttl, self._reply_ttl, self._events_maxlen,
            event_type, dumps(event_data) if event_type else "",
            dumps(plan.history) if plan.history is not None else "",
            len(plan.changes), cap, len(lists),
        ]
        for change in plan.changes:
            args += [
                change.field,
                "absent" if change.expected is None else "equal",
                change.expected or "",
                "del" if change.value is None else "set",
                change.value or "",
            ]
        for op in lists:
            args += [op.op, op.value, op.expected, op.cap]
        keys.append(self._keys.channels)
        args.append(self._guard)
        result = self._commit(keys=keys, args=args)
        if result[0] == CommitResult.DUPLICATE:
            return CommitResult.DUPLICATE, Outcome.from_record(json.loads(result[1]))
        if result[0] == CommitResult.APPLIED and result[1]:
            return CommitResult.APPLIED, plan.outcome.with_seq(int(result[1]))
        return result[0], None

    def quarantine(
        self, key: str, where: str | int, raw: str, reason: str, replacement: str | None = None
    ) -> bool:
        """Move a corrupt value aside (hash field or list entry) if it is still there."""
        kind = "list" if isinstance(where, int) else "hash"
        record = dumps({"key": key, "field": where, "raw": raw, "reason": reason})
        moved = self._quarantine(
            keys=[key, self._keys.quarantine],
            args=[kind, where, raw, record, replacement or ""],
        )
        return bool(moved)


def dumps(value: Any) -> str:
    """Compact JSON; NaN is refused so nothing unparsable by browsers is ever stored."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
