"""Cues on the wire: camelCase JSON loaded into the typed model once at each edge.

A new cue: `{"name", one of "at" (epoch ms) | "inMs" | "cron" (+ "timezone"), "graceMs",
"action"}`. Errors name the field by its path (`action.transition.durationMs`,
`action.operations.2.op`). A batch's operations are checked here for shape only (objects with
a known `op` and the keys it needs); the store checks them in full when the cue runs, against
the layers on air then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    validate,
    validates_schema,
)

from core.cues.model import (
    ACTION_KINDS,
    BATCH,
    DEFAULT_GRACE_MS,
    MAX_GRACE_MS,
    RESULTS,
    STATES,
    TAKE,
    Cue,
    CueAction,
    CueRun,
    NewCue,
)
from core.cues.schedule import ScheduleError, check_cron, check_timezone
from core.schemas.fields import EPOCH_MS_MAX, Integer, Text, epoch_ms, flatten_messages
from core.show import dump_scene_cut, dump_tween, load_scene_cut, load_tween
from core.show.batch import MAX_OPERATIONS, dump_operation, load_operations, masked_operation

NAME = validate.Length(1, 100)
ID_LENGTH = 64
_WHEN = ("at", "inMs", "cron")


class _Operations(fields.Field[list[dict[str, Any]]]):
    """A batch's operations, checked for shape by the batch's own loader and kept in its
    normal wire form (defaults filled)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any,
                   **kwargs: Any) -> list[dict[str, Any]] | None:
        return None if value is None else list(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list[dict[str, Any]]:
        try:
            return [dump_operation(operation) for operation in load_operations(value)]
        except ValidationError as exc:
            # Named `operations.<i>.<field>` by the loader; this field adds its own name.
            messages = flatten_messages(exc.messages)
            if "operations" in messages:
                raise ValidationError(messages["operations"]) from None
            raise ValidationError({name.removeprefix("operations."): message
                                   for name, message in messages.items()}) from None


class _Transition(fields.Field[dict[str, Any]]):
    """A transition object; what it holds is checked against the action's kind."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        return value


class ActionSchema(Schema):
    """What a cue does: `{"kind": "batch", "operations": [...1-100], "transition"?: tween}`,
    `{"kind": "take", "sceneId", "transition"?: {"type": "cut"|"fade"|"wipe",
    "durationMs"}}` or `{"kind": "start"|"stop"|"pause"|"resume"}`."""

    kind = Text(required=True, validate=validate.OneOf(ACTION_KINDS))
    operations = _Operations(metadata={
        "description": f"batch: 1-{MAX_OPERATIONS} operations, as POST /stream/batch takes them"})
    transition = _Transition(allow_none=True, metadata={
        "description": "batch: {durationMs, easing}; take: {type, durationMs}"})
    scene_id = Text(data_key="sceneId", validate=validate.Length(1, ID_LENGTH),
                    metadata={"description": "take: the scene to take"})

    @validates_schema
    def _fits_its_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("kind")
        if kind not in ACTION_KINDS:
            return  # the kind's own error says it
        errors: dict[str, Any] = {}
        belongs = {BATCH: ("operations", "transition"), TAKE: ("scene_id", "transition")}
        for name, wire in (("operations", "operations"), ("transition", "transition"),
                           ("scene_id", "sceneId")):
            if name in data and name not in belongs.get(kind, ()):
                errors[wire] = f"is not part of a {kind} cue"
        if kind == BATCH and "operations" not in data:
            errors["operations"] = "a batch cue needs its operations (1-100)"
        if kind == TAKE and "scene_id" not in data:
            errors["sceneId"] = "a take cue needs the id of the scene to take"
        if kind in belongs and data.get("transition") is not None:
            try:
                _load_transition(kind, data["transition"])
            except ValidationError as exc:
                errors["transition"] = exc.messages
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> CueAction:
        wire = data.get("transition")
        return CueAction(
            kind=data["kind"], operations=tuple(data.get("operations", ())),
            transition=None if wire is None else _load_transition(data["kind"], wire),
            scene_id=data.get("scene_id"))

    @post_dump
    def _only_its_fields(self, wire: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        kind = wire["kind"]
        keep = {BATCH: ("operations", "transition"), TAKE: ("sceneId", "transition")}
        return {"kind": kind, **{name: wire[name] for name in keep.get(kind, ())
                                 if wire.get(name) is not None}}


def _load_transition(kind: str, wire: Any) -> dict[str, Any] | None:
    """The transition in its normal wire form (defaults filled; a zero tween is none)."""
    if kind == BATCH:
        tween = load_tween(wire)
        return None if tween is None else dump_tween(tween)
    return dump_scene_cut(load_scene_cut(wire))


class CueRunSchema(Schema):
    """One time the cue fell due: `dueAt`, `ranAt` (epoch ms), `result` ok | missed |
    failed, the change's HTTP `status` (null when missed), its history `seq` when it made one,
    and the `error` message of a failure."""

    due_at = epoch_ms(data_key="dueAt", required=True)
    ran_at = epoch_ms(data_key="ranAt", required=True)
    result = Text(required=True, validate=validate.OneOf(RESULTS))
    status = Integer(required=True, allow_none=True, validate=validate.Range(100, 599))
    seq = Integer(allow_none=True, load_default=None, validate=validate.Range(1, 2**53))
    error = Text(allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> CueRun:
        return CueRun(**data)

    @post_dump
    def _without_empty(self, wire: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {name: value for name, value in wire.items()
                if value is not None or name not in ("seq", "error")}


class _When(Schema):
    """When a cue falls due and how late it may still run."""

    timezone = Text(load_default="UTC", validate=validate.Length(1, 64), metadata={
        "description": "IANA name the cron expression is read in (default UTC)"})
    grace_ms = Integer(data_key="graceMs", load_default=DEFAULT_GRACE_MS,
                       validate=validate.Range(0, MAX_GRACE_MS), metadata={
                           "description": "how late it may still run; later, it reads missed"})

    @validates_schema
    def _schedule_is_usable(self, data: dict[str, Any], **kwargs: Any) -> None:
        timezone = data.get("timezone", "UTC")
        try:
            check_timezone(timezone)
        except ScheduleError as exc:
            raise ValidationError(str(exc), "timezone") from None
        # With a time given as well, the cue has two schedules: that error says enough.
        if data.get("cron") is not None and data.get("at") is None and "in_ms" not in data:
            try:
                check_cron(data["cron"], timezone)
            except ScheduleError as exc:
                raise ValidationError(str(exc), "cron") from None


class CueInputSchema(_When):
    """A new cue: `name`, exactly one of `at`, `inMs` or `cron`, `timezone`, `graceMs` and
    `action`."""

    name = Text(required=True, validate=NAME)
    at = epoch_ms(metadata={"description": "when (epoch ms); at most graceMs in the past"})
    in_ms = Integer(data_key="inMs", validate=validate.Range(0, EPOCH_MS_MAX // 2), metadata={
        "description": "in this many ms from now (becomes at)"})
    cron = Text(validate=validate.Length(1, 200), metadata={
        "description": "five-field cron expression (croniter), such as */15 * * * *"})
    action = fields.Nested(ActionSchema, required=True)

    @validates_schema
    def _one_time(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [wire for name, wire in (("at", "at"), ("in_ms", "inMs"), ("cron", "cron"))
                 if name in data]
        if not given:
            raise ValidationError({wire: ["give one of at, inMs or cron"] for wire in _WHEN})
        if len(given) > 1:
            raise ValidationError({wire: ["give only one of at, inMs or cron"]
                                   for wire in given})


class CueSchema(_When):
    """A cue as stored and read. One-shot cues have `at`, recurring ones `cron` (the other is
    null). `state` is scheduled until a one-shot cue falls due (then done, missed or failed;
    a cron cue stays scheduled); `nextAt` is when it falls due next (null once done);
    `runs` counts the times it fell due; `lastRun` is the latest of them."""

    id = Text(required=True, validate=validate.Length(1, ID_LENGTH))
    name = Text(required=True, validate=NAME)
    at = epoch_ms(required=True, allow_none=True)
    cron = Text(required=True, allow_none=True)
    timezone = Text(required=True)
    grace_ms = Integer(data_key="graceMs", required=True,
                       validate=validate.Range(0, MAX_GRACE_MS))
    action = fields.Nested(ActionSchema, required=True)
    state = Text(required=True, validate=validate.OneOf(STATES))
    next_at = epoch_ms(data_key="nextAt", required=True, allow_none=True)
    created_at = epoch_ms(data_key="createdAt", required=True)
    runs = Integer(required=True, validate=validate.Range(0, 2**53))
    last_run = fields.Nested(CueRunSchema, data_key="lastRun", required=True, allow_none=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Cue:
        return Cue(**data)


_ACTION = ActionSchema()
_INPUT = CueInputSchema()
_CUE = CueSchema()


def load_new_cue(wire: Mapping[str, Any], asked_at: int) -> NewCue:
    """A client's cue from camelCase JSON, asked for at `asked_at` (epoch ms): `inMs` becomes
    `at`; an `at` more than graceMs before `asked_at` is refused (ValidationError naming the
    fields)."""
    data = _INPUT.load(wire)
    at = asked_at + data["in_ms"] if "in_ms" in data else data.get("at")
    if at is not None and at + data["grace_ms"] < asked_at:
        raise ValidationError({"at": [f"is {asked_at - at} ms in the past, more than graceMs "
                                      f"({data['grace_ms']})"]})
    return NewCue(name=data["name"], action=data["action"], at=at, cron=data.get("cron"),
                  timezone=data["timezone"], grace_ms=data["grace_ms"])


def dump_new_cue(cue: NewCue) -> dict[str, Any]:
    """A new cue as camelCase JSON (for the message that carries it to the worker): `at` or
    `cron`, never `inMs`."""
    wire = {"name": cue.name, "timezone": cue.timezone, "graceMs": cue.grace_ms,
            "action": _ACTION.dump(cue.action)}
    return {**wire, **({"at": cue.at} if cue.cron is None else {"cron": cue.cron})}


def load_cue(wire: Mapping[str, Any]) -> Cue:
    """A stored cue from camelCase JSON."""
    loaded: Cue = _CUE.load(wire)
    return loaded


def dump_cue(cue: Cue, *, secrets: bool = False) -> dict[str, Any]:
    """A cue as camelCase JSON: secrets in its operations (an input layer's URL) masked, as
    every read shows layers, unless `secrets` (only the stored value keeps them)."""
    wire: dict[str, Any] = _CUE.dump(cue)
    return wire if secrets else {**wire, "action": masked_action(wire["action"])}


def masked_action(action: dict[str, Any]) -> dict[str, Any]:
    """An action (wire form) as reads, events and task logs show it: secrets masked."""
    if "operations" not in action:
        return action
    return {**action, "operations": [masked_operation(operation)
                                     for operation in action["operations"]]}


