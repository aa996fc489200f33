"""Commands: the outcome of each mutation the API sent, and the loop that plans and commits a
mutation until what it read is still current (`run`). The state store and the output store
run every change through it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis

from core.commit import COMMAND_TTL, CommitResult, Committer, Outcome, Pending, Plan, dumps
from core.errors import DomainError, StoreContention, Unavailable, UnknownChannel
from core.keys import Keys

log = logging.getLogger(__name__)

CAS_ATTEMPTS = 200


class CommandRunner:
    """Records and answers command outcomes, and runs plans through the committer."""

    def __init__(self, client: redis.Redis, keys: Keys, committer: Committer) -> None:
        self.redis = client
        self.keys = keys
        self._committer = committer

    def mark_pending(self, command_id: str) -> None:
        """Record that a command was sent, so its status can be asked for before it runs."""
        self.redis.set(self.keys.command(command_id), dumps({"state": "pending"}),
                       ex=COMMAND_TTL, nx=True)

    def command(self, command_id: str) -> Outcome | Pending | None:
        """A command's outcome; Pending while it waits; None if unknown or expired."""
        raw = self.redis.get(self.keys.command(command_id))
        if raw is None:
            return None
        record = json.loads(raw)
        if record.get("state") == "done":
            return Outcome.from_record(record)
        return Pending(command_id)

    def wait_for_outcome(
        self, blocking: redis.Redis, command_id: str, timeout: float
    ) -> Outcome | None:
        """Block up to `timeout` seconds for a command's outcome, through `blocking`."""
        popped = blocking.blpop([self.keys.reply(command_id)], timeout=timeout)
        if popped is None:
            return None
        return Outcome.from_record(json.loads(popped[1]))

    def refuse(self, command_id: str, error: DomainError) -> Outcome:
        """Record `error` as a command's outcome (a message the worker could not accept)."""
        return self.run(command_id, _refusal(error))

    def run(self, command_id: str, plan: Callable[[], Plan]) -> Outcome:
        """Plan and commit until the values read are still current when written."""
        refused_by_store = False
        for _ in range(CAS_ATTEMPTS):
            try:
                try:
                    planned = plan()
                except DomainError as exc:
                    planned = _refusal(exc)()
                result, stored = self._committer.commit(command_id, planned)
            except redis.ResponseError as exc:
                # A key of the wrong type (WRONGTYPE) or a full Redis: the store needs the
                # operator, and the client gets 503. The refusal touches only the command's own
                # keys, so it can still be recorded; if even that fails, the task fails.
                if refused_by_store:
                    raise
                refused_by_store = True
                log.error("Redis refused command %s: %s", command_id, exc)
                plan = _refusal(Unavailable("the state store refused the change; retry later"))
                continue
            if result == CommitResult.DUPLICATE and stored is not None:
                log.info("command %s was already applied; returning its outcome", command_id)
                return stored
            if result == CommitResult.APPLIED:
                return stored or planned.outcome
            if result == CommitResult.GONE:
                # The channel was deleted while this command was planned.
                plan = _refusal(UnknownChannel(self.keys.channel))
            if result == CommitResult.LIMIT and planned.cap is not None:
                # Record the refusal as this command's outcome, through the same commit path.
                plan = _refusal(planned.cap[2])
        raise StoreContention("too many concurrent changes to the same resource; retry")



def _refusal(error: DomainError) -> Callable[[], Plan]:
    """A plan that changes nothing and answers with `error`."""
    return lambda: Plan(Outcome(error.status, error.to_body()))

