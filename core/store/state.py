"""Operator state: the stream, its layers and chat, with atomic, idempotent mutations.

Reads validate what they find: a value that does not parse is logged, copied to the quarantine
list and replaced by its default (or dropped), so no process ever crashes on bad data.
Mutations take a command id and go through `Committer` (compare-and-set), so each applies
atomically, bumps the resource's version by exactly one, appends one event, and runs at most
once however often its task is delivered.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, cast

import redis
from marshmallow import ValidationError

from core import events
from core.audio import dump_settings
from core.commit import (
    Change,
    Committer,
    Outcome,
    Plan,
    dumps,
)
from core.config import Settings
from core.errors import (
    Conflict,
    InvalidInput,
    StoreContention,
)
from core.keys import DEFAULT_CHANNEL, Keys
from core.layers import (
    Layer,
    NewLayer,
    layer_order,
    load_layer,
)
from core.layers.reads import layer_read
from core.schemas import ChatMessageSchema, StreamRecordSchema
from core.schemas.fields import flatten_messages
from core.show import API_ACTOR, Actor, Tween, load_scene_cut
from core.show.batch import load_batch
from core.store.audio import AudioStore
from core.store.commands import CAS_ATTEMPTS, CommandRunner
from core.store.cues import CueStore
from core.store.history import state_entry
from core.store.layer_changes import LayerChanges
from core.store.layer_edit import EditOptions
from core.store.live import TICKET_TTL_SECONDS, LiveState
from core.store.outputs import OutputStore, with_state
from core.store.scenes import SceneStore
from core.store.values import StoredValues, now_ms

log = logging.getLogger(__name__)

STREAM_FIELD = "desired"
STREAM_ACTIONS = ("start", "stop", "pause", "resume")
# What `GET /stream/status` shows of each output (its read shows every field).
STATUS_OUTPUT_FIELDS = ("id", "name", "state", "error", "bitrate", "since")

_stream_schema = StreamRecordSchema()
_chat_schema = ChatMessageSchema()


class StateStore(CommandRunner):
    """Reads and atomically changes the stream, its layers, chat and preview clients."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, max_layers: int, chat_history: int,
        events_maxlen: int, clock: Callable[[], int] = now_ms, max_scenes: int = 100,
        undo_depth: int = 200, max_cues: int = 200,
    ) -> None:
        super().__init__(client, keys, Committer(client, keys, events_maxlen=events_maxlen))
        self.max_layers = max_layers
        self.chat_history = chat_history
        self._clock = clock
        self._values = StoredValues(self._committer)
        self.live = LiveState(client, keys, self._values, clock=clock)
        self.outputs = OutputStore(client, keys, self._values, self.run, clock)
        self.audio = AudioStore(client, keys, self._values, self.run)
        self.cues = CueStore(client, keys, self._values, self.run, clock, max_cues)
        self.scenes = SceneStore(client, keys, self._values, self.run, clock, max_scenes)
        self.changes = LayerChanges(client, keys, self._values, self.run, clock, max_layers,
                                    undo_depth)

    @classmethod
    def from_settings(cls, settings: Settings, client: redis.Redis,
                      channel: str = DEFAULT_CHANNEL) -> StateStore:
        """The store of channel `channel`, configured from `settings`, talking through
        `client`."""
        return cls(
            client, Keys(settings.redis_prefix, channel), max_layers=settings.max_layers,
            chat_history=settings.chat_history, events_maxlen=settings.events_maxlen,
            max_scenes=settings.max_scenes, undo_depth=settings.undo_depth,
            max_cues=settings.max_cues,
        )

    # ---- reads -------------------------------------------------------------------------

    def stream(self) -> dict[str, Any]:
        """The desired stream state; written with its defaults when there is none."""
        return self._stream_with_raw()[1]

    def status(self, target_fps: int) -> dict[str, Any]:
        """`GET /stream/status`: the desired state merged with the render worker's telemetry.

        A stopped stream never reads as on air: fps is 0, and until the render worker confirms
        the stop (its pipeline closed) its outputs read `stopping`; the counts stay readable.
        Every output is listed with its state (core.store.outputs.with_state); `audio` is
        the render worker's audio levels as it reports them (null while nothing renders).
        """
        record = self.stream()
        telemetry = self.live.telemetry()
        outputs = with_state(self.outputs.all(), record["state"], telemetry)
        telemetry.pop("streaming")
        telemetry.pop("sources")  # layer reads carry each source's state
        if record["state"] == "stopped":
            telemetry["fps"] = 0.0
        telemetry["outputs"] = [{key: output[key] for key in STATUS_OUTPUT_FIELDS}
                                for output in outputs]
        return {
            "state": record["state"],
            "isLive": record["state"] != "stopped",
            "isPaused": record["state"] == "paused",
            "targetFPS": target_fps,
            "startTime": record["startTime"],
            "version": record["version"],
            **telemetry,
        }

    def output_reads(self) -> list[dict[str, Any]]:
        """Every output as reads show it, with its live state."""
        return with_state(self.outputs.all(), self.stream()["state"], self.live.telemetry())

    def output_read(self, output_id: str) -> dict[str, Any]:
        """One output as reads show it, or NotFound."""
        output = self.outputs.get(output_id)
        return with_state([output], self.stream()["state"], self.live.telemetry())[0]

    def audio_read(self) -> dict[str, Any]:
        """`GET /stream/audio`: the settings, their version and the render worker's `levels`
        (null while nothing renders)."""
        settings, version = self.audio.get()
        return {**dump_settings(settings, version), "levels": self.live.telemetry()["audio"]}

    def with_levels(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Settings as a change answered them (core.audio.dump_settings), with the levels."""
        return {**settings, "levels": self.live.telemetry()["audio"]}

    def layers(self) -> list[Layer]:
        """Every valid layer, bottom to top."""
        found = []
        for layer_id, raw in self._layer_hash().items():
            layer = self._values.parse(self.keys.layers, layer_id, raw, load_layer)
            if layer is not None:
                found.append(layer)
        return sorted(found, key=layer_order)

    def layer(self, layer_id: str) -> Layer:
        """One layer, or NotFound."""
        return self._read_layer(layer_id)[1]

    def chat(self, limit: int) -> list[dict[str, Any]]:
        """The latest `limit` chat messages, oldest first."""
        raws = cast(list[str], self.redis.lrange(self.keys.chat, 0, max(limit, 1) - 1))
        messages = []
        for index, raw in enumerate(raws):
            message = self._values.parse(self.keys.chat, index, raw, _chat_schema.load)
            if message is not None:
                messages.append(message)
        return messages[::-1]

    # ---- what the views read beside the operator's state (issue 12, item 4) ---------------
    # The API and the preview reach live state and the connection through these, so the store
    # stays the one reader of Redis.

    def ping(self) -> float:
        """Seconds one PING took (redis.ConnectionError or TimeoutError when Redis is down)."""
        started = time.perf_counter()
        self.redis.ping()
        return time.perf_counter() - started

    def layer_reads(self, layers: list[Layer]) -> list[dict[str, Any]]:
        """`layers` as clients read them, with what the render worker reports of each."""
        telemetry = self.live.telemetry()
        errors, sources, now = telemetry["layerErrors"], telemetry["sources"], self._clock()
        return [layer_read(layer, errors.get(layer.id), sources.get(layer.id), now)
                for layer in layers]

    def render_heartbeat_age_ms(self) -> int | None:
        """Milliseconds since the active render instance last beat (None: none beats)."""
        return self.live.active_heartbeat_age_ms()

    def preview_clients(self) -> list[dict[str, Any]]:
        """Connected preview clients, by id."""
        return self.live.preview_clients()

    def issue_preview_ticket(self) -> str:
        """A single-use preview ticket, valid for TICKET_TTL_SECONDS."""
        return self.live.issue_ticket(TICKET_TTL_SECONDS)

    def close(self) -> None:
        """Release the store's connections."""
        self.redis.close()

    # ---- mutations ---------------------------------------------------------------------

    def set_stream_state(self, command_id: str, action: str,
                         actor: Actor = API_ACTOR) -> Outcome:
        """start / stop / pause / resume the desired state; repeating one changes nothing.
        The history records it (it is not undoable: undo never starts or stops a stream)."""
        if action not in STREAM_ACTIONS:
            raise ValueError(f"unknown stream action {action!r}")

        def plan() -> Plan:
            raw, record = self._stream_with_raw()
            target = _stream_target(record["state"], action)
            if target == record["state"]:
                return Plan(Outcome(200, record))
            now = self._clock()
            start_time = None if target == "stopped" else (record["startTime"] or now)
            new = {**record, "state": target, "version": record["version"] + 1,
                   "startTime": start_time, "updatedAt": now}
            return Plan(
                Outcome(200, new),
                [Change(self.keys.stream, STREAM_FIELD, raw, dumps(new))],
                event=(events.STREAM_STATE, {"action": action, **new}),
                history=state_entry(f"stream.{action}", actor, {"state": record["state"]},
                                    {"state": target}, now),
            )

        return self.run(command_id, plan)

    def create_layer(self, command_id: str, new: NewLayer, tween: Tween | None = None,
                     actor: Actor = API_ACTOR) -> Outcome:
        """Add a layer; without a zIndex it goes on top (with a tween it fades in)."""
        return cast(Outcome, self.changes.create(command_id, new, EditOptions(actor, tween)))

    def update_layer(
        self, command_id: str, layer_id: str, patch: Mapping[str, Any],
        if_match: int | None = None, tween: Tween | None = None, actor: Actor = API_ACTOR,
    ) -> Outcome:
        """Merge a camelCase change into a layer (`core.layers.apply_patch`: the merge checks
        the whole layer against its type); with a tween its numbers move there on air."""
        return cast(Outcome, self.changes.update(command_id, layer_id, patch, if_match,
                                                 EditOptions(actor, tween)))

    def set_visibility(
        self, command_id: str, layer_id: str, visible: bool, if_match: int | None = None,
        tween: Tween | None = None, actor: Actor = API_ACTOR,
    ) -> Outcome:
        """Show or hide a layer (with a tween it fades)."""
        return cast(Outcome, self.changes.change(
            command_id, layer_id, if_match, "layer.visibility", events.LAYER_VISIBILITY,
            lambda layer: replace(layer, visible=visible), EditOptions(actor, tween)))

    def control_playback(
        self, command_id: str, layer_id: str, action: str, position: float | None = None,
        if_match: int | None = None, actor: Actor = API_ACTOR,
    ) -> Outcome:
        """Play, pause, restart or seek a video layer: its playback anchor moves to now."""

        def change(layer: Layer) -> Layer:
            if layer.playback is None:
                raise Conflict(f"a {layer.type} layer has no playback; only video layers play",
                               {"type": f"is {layer.type}, not video"})
            return replace(layer, playback=layer.playback.after(action, self._clock(), position))

        return cast(Outcome, self.changes.change(
            command_id, layer_id, if_match, "layer.playback", events.LAYER_UPDATED, change,
            EditOptions(actor)))

    def delete_layer(self, command_id: str, layer_id: str, if_match: int | None = None,
                     tween: Tween | None = None, actor: Actor = API_ACTOR) -> Outcome:
        """Remove a layer (with a tween it fades out first)."""
        return cast(Outcome, self.changes.delete(command_id, layer_id, if_match,
                                                 EditOptions(actor, tween)))

    def reorder_layers(self, command_id: str, ids: list[str],
                       actor: Actor = API_ACTOR) -> Outcome:
        """Restack layers: `ids` names every layer, bottom first; zIndex becomes the position."""
        return cast(Outcome, self.changes.restack(command_id, ids, EditOptions(actor)))

    def batch(self, command_id: str, operations: list[dict[str, Any]],
              transition: dict[str, Any] | None, actor: Actor = API_ACTOR,
              effective_at: int | None = None) -> Outcome:
        """Apply a batch (wire form, checked here: errors name operations.<i>.<field>) all
        at once or not at all."""
        try:
            batch = load_batch({"operations": operations, "transition": transition})
        except ValidationError as exc:
            return self.refuse(command_id, InvalidInput(
                "the batch is not valid", flatten_messages(exc.messages)))
        return cast(Outcome, self.changes.batch(command_id, batch, actor, effective_at))

    def take_scene(self, command_id: str, scene_id: str, transition: dict[str, Any] | None,
                   actor: Actor = API_ACTOR, effective_at: int | None = None) -> Outcome:
        """Make scene `scene_id` the program, with a cut, fade or wipe."""
        try:
            cut = load_scene_cut(transition)
        except ValidationError as exc:
            return self.refuse(command_id, InvalidInput(
                "the transition is not valid", flatten_messages(exc.messages, "transition")))
        return cast(Outcome, self.changes.take(
            command_id, lambda: self.scenes.get(scene_id), cut, actor, effective_at))

    def undo(self, command_id: str, actor: Actor = API_ACTOR) -> Outcome:
        """Revert the newest undoable change as a new change."""
        return cast(Outcome, self.changes.undo(command_id, actor))

    def redo(self, command_id: str, actor: Actor = API_ACTOR) -> Outcome:
        """Replay the newest undone change as a new change."""
        return cast(Outcome, self.changes.redo(command_id, actor))

    def history(self, limit: int, before: int | None = None) -> dict[str, Any]:
        """`GET /stream/history`: entries newest first, and the seq to page on from."""
        return self.changes.history.entries(limit, before)

    def post_chat(self, command_id: str, author: str, message: str) -> Outcome:
        """Append a chat message; the history keeps the latest CHAT_HISTORY."""

        message_id = secrets.token_hex(6)

        def plan() -> Plan:
            entry = {"id": message_id, "author": author, "message": message,
                     "createdAt": self._clock()}
            return Plan(
                Outcome(201, entry),
                event=(events.CHAT_POSTED, entry),
                push=(self.keys.chat, dumps(entry), self.chat_history),
            )

        return self.run(command_id, plan)

    def trim_chat(self) -> int:
        """Cut the chat history down to CHAT_HISTORY (posts trim as they go; this catches a
        lowered limit and anything written around the store); answers how many went."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.keys.chat)
            pipe.ltrim(self.keys.chat, 0, self.chat_history - 1)
            pipe.llen(self.keys.chat)
            before, _, after = pipe.execute()
        return int(before) - int(after)

    # ---- internals ---------------------------------------------------------------------

    def _layer_hash(self) -> dict[str, str]:
        """Every stored layer's raw JSON by id (the client decodes replies to str)."""
        return cast(dict[str, str], self.redis.hgetall(self.keys.layers))

    def _read_layer(self, layer_id: str) -> tuple[str, Layer]:
        """A layer's raw JSON (for compare-and-set) and its parsed form, or NotFound."""
        raw = cast(str | None, self.redis.hget(self.keys.layers, layer_id))
        layer = self._values.require(self.keys.layers, layer_id, raw, load_layer, "layer")
        return cast(str, raw), layer

    def _stream_with_raw(self) -> tuple[str, dict[str, Any]]:
        """The stored stream record and its raw JSON, writing the defaults if it is missing."""
        for _ in range(CAS_ATTEMPTS):
            raw = cast(str | None, self.redis.hget(self.keys.stream, STREAM_FIELD))
            record = self._values.parse(self.keys.stream, STREAM_FIELD, raw, _stream_schema.load)
            if raw is not None and record is not None:
                return raw, record
            defaults = {"state": "stopped", "version": 1, "startTime": None,
                        "updatedAt": self._clock()}
            self.redis.hsetnx(self.keys.stream, STREAM_FIELD, dumps(defaults))
        raise StoreContention("the stream record keeps changing under us; retry")


def _stream_target(state: str, action: str) -> str:
    if action == "start" or (action == "resume" and state != "stopped"):
        return "live"
    if action == "stop":
        return "stopped"
    if action == "pause" and state != "stopped":
        return "paused"
    raise Conflict(f"cannot {action} a stopped stream; start it first", {"state": state})

