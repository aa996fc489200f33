"""Channels: the registry of the programs a deployment runs, and their lifecycle.

A channel is a JSON value in `Keys.channels` (deployment-wide), its name taken atomically
through `Keys.channel_names`, as scenes' and outputs' are. Changes go through the same
commit as every other command (compare-and-set, one version a change, the outcome recorded
under the command id); they append nothing to any channel's event stream: render nodes and
the API read the registry itself.

`default` always exists: it is written with its defaults whenever it is found missing, and
cannot be deleted. A channel is deleted only while stopped (desired state) and while no
render process reports it streaming; deleting it removes every key under its scope and its
placement, so an id used again starts clean.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import redis

from core.channels import (
    Channel,
    ChannelPatch,
    NewChannel,
    dump_channel,
    dump_channel_read,
    effective_output,
    load_channel,
)
from core.commit import Change, Committer, Outcome, Plan, dumps
from core.config import Settings
from core.errors import Conflict, LimitExceeded, UnknownChannel
from core.keys import DEFAULT_CHANNEL, Keys
from core.schemas import StreamRecordSchema
from core.store.commands import CommandRunner
from core.store.live import TELEMETRY_FIELD
from core.store.migrate import default_channel
from core.store.values import StoredValues, check_version, now_ms

log = logging.getLogger(__name__)

STREAM_FIELD = "desired"  # core.store.state's field of the desired stream state
# A render process that reported this recently still counts as streaming the channel (its
# heartbeat is about once a second; core.store.health judges it gone after as long).
STREAMING_FRESH_MS = 5_000
_SWEEP_BATCH = 500

_stream_schema = StreamRecordSchema()


class ChannelStore(CommandRunner):
    """Reads and atomically changes the channel registry."""

    def __init__(self, client: redis.Redis, keys: Keys, settings: Settings | None = None,
                 clock: Callable[[], int] = now_ms) -> None:
        settings = settings or Settings()
        super().__init__(client, keys, Committer(client, keys,
                                                 events_maxlen=settings.events_maxlen))
        self.settings = settings
        self.max_channels = settings.max_channels
        self._values = StoredValues(self._committer)
        self._clock = clock

    # ---- reads -----------------------------------------------------------------------

    def ids(self) -> list[str]:
        """Every channel's id: `default` first, the rest sorted."""
        found = set(cast(list[str], self.redis.hkeys(self.keys.channels))) - {DEFAULT_CHANNEL}
        return [DEFAULT_CHANNEL, *sorted(found)]

    def exists(self, channel_id: str) -> bool:
        """Whether channel `channel_id` exists (`default` always does)."""
        return channel_id == DEFAULT_CHANNEL or bool(
            self.redis.hexists(self.keys.channels, channel_id))

    def list(self) -> list[Channel]:
        """Every valid channel, `default` first, then by creation."""
        self._ensure_default()
        found = []
        for channel_id, raw in cast(dict[str, str],
                                    self.redis.hgetall(self.keys.channels)).items():
            channel = self._values.parse(self.keys.channels, channel_id, raw, load_channel)
            if channel is not None:
                found.append(channel)
        return sorted(found, key=lambda channel: (channel.id != DEFAULT_CHANNEL,
                                                  channel.created_at, channel.id))

    def get(self, channel_id: str) -> Channel:
        """One channel, or UnknownChannel (a NotFound naming the field `channel`)."""
        return self._read(channel_id)[1]

    def read(self, channel: Channel) -> dict[str, Any]:
        """A channel as reads show it: its JSON with the output it renders at."""
        return dump_channel_read(channel, effective_output(channel, self.settings))

    # ---- mutations -------------------------------------------------------------------

    def create(self, command_id: str, new: NewChannel) -> Outcome:
        """Add a channel (201); its id and name must be free, and there may be at most
        MAX_CHANNELS (`default` included)."""

        def plan() -> Plan:
            self._ensure_default()
            if self.redis.hexists(self.keys.channels, new.id):
                raise Conflict(f"a channel with id {new.id!r} exists", {"id": "already taken"})
            self._check_name_free(new.name)
            channel = Channel(id=new.id, name=new.name, output=new.output,
                              created_at=self._clock(), version=1)
            return Plan(
                Outcome(201, self.read(channel)),
                [Change(self.keys.channels, channel.id, None, dumps(dump_channel(channel))),
                 Change(self.keys.channel_names, channel.name, None, channel.id)],
                cap=(self.keys.channels, self.max_channels, LimitExceeded(
                    f"at most {self.max_channels} channels (MAX_CHANNELS)",
                    {"channels": f"limit is {self.max_channels}"})))

        return self.run(command_id, plan)

    def update(self, command_id: str, channel_id: str, patch: ChannelPatch,
               if_match: int | None = None) -> Outcome:
        """Rename a channel and/or change its output settings (only while it is stopped: a
        running program keeps its size and rate)."""

        def plan() -> Plan:
            raw, channel = self._read(channel_id)
            check_version("channel", channel_id, channel.version, if_match,
                          lambda: self.read(channel))
            output = channel.output
            if patch.output is not None:
                output = output.merged(patch.output, patch.output_fields)
            changed = replace(channel, name=patch.name or channel.name, output=output)
            if changed == channel:
                return Plan(Outcome(200, self.read(channel)))
            changed = replace(changed, version=channel.version + 1)
            changes = [Change(self.keys.channels, channel_id, raw, dumps(dump_channel(changed)))]
            if output != channel.output:
                stream_raw, state = self._desired(channel_id)
                if state != "stopped":
                    raise Conflict(f"channel {channel_id} is {state}: stop the channel first "
                                   "to change its output", {"output": f"channel is {state}"})
                changes.append(self._unchanged(channel_id, stream_raw))
            if changed.name != channel.name:
                self._check_name_free(changed.name)
                changes += [Change(self.keys.channel_names, channel.name, channel_id, None),
                            Change(self.keys.channel_names, changed.name, None, channel_id)]
            return Plan(Outcome(200, self.read(changed)), changes)

        return self.run(command_id, plan)

    def delete(self, command_id: str, channel_id: str) -> Outcome:
        """Remove a stopped channel that nothing streams (204), with every key it owns."""

        def plan() -> Plan:
            raw, channel = self._read(channel_id)
            if channel_id == DEFAULT_CHANNEL:
                raise Conflict("the default channel cannot be deleted",
                               {"channel": "is the default channel"})
            stream_raw, state = self._desired(channel_id)
            if state != "stopped":
                raise Conflict(f"channel {channel_id} is {state}: stop it before deleting it",
                               {"state": state})
            if self._streaming(channel_id):
                raise Conflict(f"channel {channel_id} is still on air on a render node; "
                               "delete it once its outputs have stopped",
                               {"state": "still streaming"})
            return Plan(Outcome(204, None),
                        [Change(self.keys.channels, channel_id, raw, None),
                         Change(self.keys.channel_names, channel.name, channel_id, None),
                         self._unchanged(channel_id, stream_raw)])

        # The registry entry goes first, under a command id of its own: from then on no
        # command of the channel commits (core.commit's guard), and the keys are swept before
        # the command's own outcome is recorded, so whoever waits for it finds them gone. A
        # redelivery finds the first step done and sweeps again.
        removed = self.run(f"{command_id}/registry", plan)
        if removed.status == 204:
            self.sweep(channel_id)
        return self.run(command_id, lambda: Plan(removed))

    def sweep(self, channel_id: str) -> int:
        """Remove every key under a deleted channel's scope and its placement; answers how
        many keys went. Refuses (ValueError) while the channel exists."""
        if self.exists(channel_id):
            raise ValueError(f"channel {channel_id!r} exists; only a deleted one is swept")
        scope = self.keys.for_channel(channel_id).scope
        removed = 0
        batch: list[str] = []
        for key in self.redis.scan_iter(match=f"{_glob_escape(scope)}*", count=_SWEEP_BATCH):
            batch.append(key)
            if len(batch) >= _SWEEP_BATCH:
                removed += int(self.redis.unlink(*batch))
                batch = []
        if batch:
            removed += int(self.redis.unlink(*batch))
        self.redis.hdel(self.keys.placement, channel_id)
        log.info("channel %s deleted: %d keys removed", channel_id, removed)
        return removed

    # ---- internals -------------------------------------------------------------------

    def _read(self, channel_id: str) -> tuple[str, Channel]:
        if channel_id == DEFAULT_CHANNEL:
            self._ensure_default()
        raw = cast(str | None, self.redis.hget(self.keys.channels, channel_id))
        channel = self._values.parse(self.keys.channels, channel_id, raw, load_channel)
        if channel is None:
            raise UnknownChannel(channel_id)
        return cast(str, raw), channel

    def _ensure_default(self) -> None:
        """Write the `default` channel's record when it is missing (a fresh or wiped Redis)."""
        if self.redis.hexists(self.keys.channels, DEFAULT_CHANNEL):
            return
        channel = default_channel(self._clock())
        if self.redis.hsetnx(self.keys.channels, DEFAULT_CHANNEL, dumps(dump_channel(channel))):
            self.redis.hsetnx(self.keys.channel_names, channel.name, DEFAULT_CHANNEL)

    def _check_name_free(self, name: str) -> None:
        if self.redis.hexists(self.keys.channel_names, name):
            raise Conflict(f"a channel named {name!r} exists", {"name": "already taken"})

    def _desired(self, channel_id: str) -> tuple[str | None, str]:
        """A channel's stored desired-state record (raw, for compare-and-set) and its state
        (`stopped` when it has none, as the stream reads then)."""
        keys = self.keys.for_channel(channel_id)
        raw = cast(str | None, self.redis.hget(keys.stream, STREAM_FIELD))
        record = self._values.parse(keys.stream, STREAM_FIELD, raw, _stream_schema.load)
        return (raw if record is not None else None), (
            record["state"] if record is not None else "stopped")

    def _unchanged(self, channel_id: str, stream_raw: str | None) -> Change:
        """A change that writes nothing new but commits only while the channel's desired
        state is still what was read (a start racing the change makes it plan again)."""
        return Change(self.keys.for_channel(channel_id).stream, STREAM_FIELD, stream_raw,
                      stream_raw)

    def _streaming(self, channel_id: str) -> bool:
        """Whether a render process still reports the channel streaming, recently."""
        keys = self.keys.for_channel(channel_id)
        raw = cast(str | None, self.redis.hget(keys.stream, TELEMETRY_FIELD))
        try:
            streaming = bool(raw and json.loads(raw).get("streaming") is True)
        except (ValueError, AttributeError):
            streaming = False
        if not streaming:
            return False
        now = self._clock()
        beats = cast(dict[str, str], self.redis.hgetall(keys.render_heartbeat))
        for beat in beats.values():
            try:
                at = json.loads(beat).get("at")
            except (ValueError, AttributeError):
                continue
            if isinstance(at, int) and now - at <= STREAMING_FRESH_MS:
                return True
        return False


def _glob_escape(text: str) -> str:
    """`text` with SCAN MATCH's special characters escaped (a prefix may hold any)."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
