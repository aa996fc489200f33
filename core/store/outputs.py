"""Outputs in the store: list, create, change and delete them atomically, like layers.

Each output is a JSON value in `Keys.outputs`; its stream key lives apart in
`Keys.output_keys` and its name in `Keys.output_names` (which makes names unique in the same
atomic commit). Events carry the output without its key; the render worker reads keys with
`targets()` when it (re)builds its senders.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, cast

import redis
from marshmallow import ValidationError

from core import events
from core.commit import Change, Outcome, Plan, dumps
from core.errors import InvalidInput
from core.keys import Keys
from core.outputs import (
    MAX_OUTPUTS,
    NewOutput,
    Output,
    OutputTarget,
    dump_output,
    load_new_output,
    load_output,
)
from core.outputs.model import join_key, split_key
from core.outputs.schemas import checked
from core.schemas.fields import flatten_messages
from core.show import API_ACTOR, Actor
from core.store.history import state_entry
from core.store.values import StoredValues, check_version

log = logging.getLogger(__name__)

STAGED_SECRET_TTL = 120
Runner = Callable[[str, Callable[[], Plan]], Outcome]


class OutputStore:
    """Reads and atomically changes the outputs (reached as `StateStore.outputs`)."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues, run: Runner,
                 clock: Callable[[], int]) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._run = run
        self._clock = clock

    # ---- reads ---------------------------------------------------------------------------

    def all(self) -> list[Output]:
        """Every valid output, oldest first."""
        found = []
        for output_id, raw in self._raw_outputs().items():
            output = self._values.parse(self.keys.outputs, output_id, raw, load_output)
            if output is not None:
                found.append(output)
        return sorted(found, key=lambda output: (output.created_at, output.id))

    def get(self, output_id: str) -> Output:
        """One output, or NotFound."""
        return self._read(output_id)[1]

    def exists(self, output_id: str) -> bool:
        """Whether an output with that id is stored."""
        return bool(self.redis.hexists(self.keys.outputs, output_id))

    def targets(self, recordings_dir: Path) -> list[OutputTarget]:
        """The enabled outputs as the render worker sends to them, keys joined in."""
        keys = cast(dict[str, str], self.redis.hgetall(self.keys.output_keys))
        return [
            OutputTarget(
                id=output.id, name=output.name, kind=output.kind,
                address=str(recordings_dir) if output.kind == "record"
                else join_key(output.url or "", keys.get(output.id)),
                segment_seconds=output.segment_seconds, keep_segments=output.keep_segments)
            for output in self.all() if output.enabled
        ]

    # ---- secrets on their way to the worker ------------------------------------------------

    def stage_secret(self, secret: str) -> str:
        """Keep `secret` for a moment and answer a reference to send in its place."""
        ref = secrets.token_hex(16)
        self.redis.set(self.keys.staged_secret(ref), secret, ex=STAGED_SECRET_TTL)
        return ref

    def take_secret(self, ref: str) -> str:
        """The staged secret (read once), or InvalidInput when it expired."""
        secret = cast(str | None, self.redis.getdel(self.keys.staged_secret(ref)))
        if secret is None:
            raise InvalidInput("the key expired on its way; send it again",
                               {"key": "expired before the change ran"})
        return secret

    # ---- mutations ---------------------------------------------------------------------------

    def create(self, command_id: str, new: NewOutput, actor: Actor = API_ACTOR) -> Outcome:
        """Add an output (at most MAX_OUTPUTS; names are unique)."""
        output_id = secrets.token_hex(6)

        def plan() -> Plan:
            now = self._clock()
            name = new.name or _unique_name(new.url or "recording", self.all())
            output = Output(
                id=output_id, name=name, kind=new.kind, enabled=new.enabled, url=new.url,
                has_key=new.key is not None, segment_seconds=new.segment_seconds,
                keep_segments=new.keep_segments, version=1, created_at=now, updated_at=now)
            self._check_name_free(output.name)
            wire = dump_output(output)
            changes = [Change(self.keys.outputs, output_id, None, dumps(wire)),
                       Change(self.keys.output_names, output.name, None, output_id)]
            if new.key is not None:
                changes.append(Change(self.keys.output_keys, output_id, None, new.key))
            return Plan(Outcome(201, wire), changes, event=(events.OUTPUT_CREATED, wire),
                        history=state_entry("output.create", actor, None, wire, now,
                                            [output_id]),
                        cap=(self.keys.outputs, MAX_OUTPUTS, InvalidInput(
                            f"at most {MAX_OUTPUTS} outputs",
                            {"outputs": f"limit is {MAX_OUTPUTS}"})))

        return self._run(command_id, plan)

    def update(self, command_id: str, output_id: str, patch: Mapping[str, Any],
               if_match: int | None = None, actor: Actor = API_ACTOR) -> Outcome:
        """Merge a loaded change (model attribute names; `key` None removes the key)."""

        def plan() -> Plan:
            raw, output = self._for_change(output_id, if_match)
            old_key = cast(str | None, self.redis.hget(self.keys.output_keys, output_id))
            changed, key = _merged(output, old_key, patch)
            changed = replace(changed, version=output.version + 1, updated_at=self._clock())
            wire = dump_output(changed)
            changes = [Change(self.keys.outputs, output_id, raw, dumps(wire))]
            if changed.name != output.name:
                self._check_name_free(changed.name)
                changes += [Change(self.keys.output_names, output.name, output_id, None),
                            Change(self.keys.output_names, changed.name, None, output_id)]
            if key != old_key:
                changes.append(Change(self.keys.output_keys, output_id, old_key, key))
            # The render worker reconnects an output whose target changed (key included);
            # the event says so without carrying the key.
            event = {**wire, "keyChanged": key != old_key}
            return Plan(Outcome(200, wire), changes, event=(events.OUTPUT_UPDATED, event),
                        history=state_entry("output.update", actor, dump_output(output), event,
                                            changed.updated_at, [output_id]))

        return self._run(command_id, plan)

    def delete(self, command_id: str, output_id: str, if_match: int | None = None,
               actor: Actor = API_ACTOR) -> Outcome:
        """Remove an output, its key and its name."""

        def plan() -> Plan:
            raw, output = self._for_change(output_id, if_match)
            old_key = cast(str | None, self.redis.hget(self.keys.output_keys, output_id))
            changes = [Change(self.keys.outputs, output_id, raw, None),
                       Change(self.keys.output_names, output.name, output_id, None)]
            if old_key is not None:
                changes.append(Change(self.keys.output_keys, output_id, old_key, None))
            return Plan(Outcome(204, None), changes, event=(
                events.OUTPUT_DELETED, {"id": output_id, "version": output.version + 1}),
                history=state_entry("output.delete", actor, dump_output(output), None,
                                    self._clock(), [output_id]))

        return self._run(command_id, plan)

    def seed(self, rtmp_urls: Iterable[str], record: bool) -> None:
        """Once, when the store has no outputs: one rtmp output per RTMP_URL, and a recording
        with RECORD=on or when there is no RTMP_URL (as before outputs were resources)."""
        if self.redis.hlen(self.keys.outputs) or not self.redis.set(
                self.keys.outputs_seeded, "1", nx=True):
            return
        urls = list(rtmp_urls)
        wires: list[dict[str, Any]] = [{"kind": "rtmp", "url": url} for url in urls]
        if record or not urls:
            wires.append({"kind": "record"})
        for number, wire in enumerate(wires):
            try:
                new = load_new_output(wire)
            except ValidationError as exc:
                # Never echo the URL: it carries the stream key.
                log.error("RTMP_URL entry %d is not a usable output and was skipped: %s",
                          number + 1, sorted(flatten_messages(exc.messages).values()))
                continue
            outcome = self.create(f"seed-outputs-{self.keys.scope}-{number}", new)
            log.info("output seeded from the environment: %s (%d)",
                     (outcome.body or {}).get("name"), outcome.status)

    # ---- internals -----------------------------------------------------------------------

    def _raw_outputs(self) -> dict[str, str]:
        return cast(dict[str, str], self.redis.hgetall(self.keys.outputs))

    def _read(self, output_id: str) -> tuple[str, Output]:
        raw = cast(str | None, self.redis.hget(self.keys.outputs, output_id))
        output = self._values.require(self.keys.outputs, output_id, raw, load_output, "output")
        return cast(str, raw), output

    def _for_change(self, output_id: str, if_match: int | None) -> tuple[str, Output]:
        raw, output = self._read(output_id)
        check_version("output", output_id, output.version, if_match,
                      lambda: dump_output(output))
        return raw, output

    def _check_name_free(self, name: str) -> None:
        if self.redis.hexists(self.keys.output_names, name):
            raise InvalidInput("another output has that name", {"name": "already taken"})


def _merged(output: Output, key: str | None,
            patch: Mapping[str, Any]) -> tuple[Output, str | None]:
    """The output and key with a change applied, checked whole for the output's kind."""
    if "kind" in patch and patch["kind"] != output.kind:
        raise InvalidInput("the kind of an output is fixed; create a new one",
                           {"kind": "cannot be changed"})
    current = NewOutput(name=output.name, kind=output.kind, enabled=output.enabled,
                        url=output.url, key=key, segment_seconds=output.segment_seconds,
                        keep_segments=output.keep_segments)
    allowed = {field.name for field in fields(NewOutput)} - {"kind"}
    wanted = replace(current, **{name: value for name, value in patch.items()
                                 if name in allowed})
    if "url" in patch and "key" not in patch and wanted.url and split_key(wanted.url)[1]:
        wanted = replace(wanted, key=None)  # a new URL with its key replaces the old key
    try:
        merged = checked(wanted, given=set(patch))
    except ValidationError as exc:
        raise InvalidInput("the change is not valid",
                           flatten_messages(exc.messages)) from None
    return replace(output, name=merged.name, enabled=merged.enabled, url=merged.url,
                   has_key=merged.key is not None, segment_seconds=merged.segment_seconds,
                   keep_segments=merged.keep_segments), merged.key


def _unique_name(name: str, outputs: list[Output]) -> str:
    taken = {output.name for output in outputs}
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}#{number}", number + 1
    return candidate


def with_state(outputs: list[Output], stream_state: str,
               telemetry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each output as reads show it: stored fields plus `state`, `error`, `bitrate` (bits/s,
    measured by the render worker) and `since` (epoch ms the state began, when known).

    A disabled output reads disabled; with the stream stopped, every output reads stopping
    until the render worker confirms, then stopped; otherwise what the render worker reports,
    or connecting until it has picked the output up.
    """
    reported = {entry.get("id"): entry for entry in telemetry.get("outputs", [])}
    read = []
    for output in outputs:
        entry = reported.get(output.id, {})
        if not output.enabled:
            live = {"state": "disabled", "error": None, "bitrate": 0, "since": output.updated_at}
        elif stream_state == "stopped":
            state = "stopping" if telemetry.get("streaming") else "stopped"
            live = {"state": state, "error": None, "bitrate": 0,
                    "since": entry.get("since") if entry.get("state") == state else None}
        else:
            live = {"state": entry.get("state", "connecting"), "error": entry.get("error"),
                    "bitrate": entry.get("bitrate", 0), "since": entry.get("since")}
        read.append({**dump_output(output), **live})
    return read
