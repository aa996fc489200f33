"""Stream state: the desired state the operator sets, the telemetry the render worker reports,
and the status the API answers with (both merged)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.schemas.audio import AudioLevelsSchema
from core.schemas.fields import Boolean, Integer, Number, Text, epoch_ms

DESIRED_STATES = ("stopped", "live", "paused")
OUTPUT_STATES = ("connecting", "live", "reconnecting", "failed", "stopping", "stopped",
                 "disabled")
RENDER_ROLES = ("active", "standby")


class StreamRecordSchema(Schema):
    """What the operator asked for; the render worker reconciles towards it."""

    state = Text(required=True, validate=validate.OneOf(DESIRED_STATES))
    version = Integer(required=True, validate=validate.Range(1, 2**53))
    startTime = epoch_ms(required=True, allow_none=True)
    updatedAt = epoch_ms(required=True)


class OutputStatusSchema(Schema):
    """One destination's state. `name` never carries the stream key."""

    id = Text(load_default=None, allow_none=True)
    name = Text(required=True)
    state = Text(required=True, validate=validate.OneOf(OUTPUT_STATES))
    error = Text(allow_none=True, load_default=None)
    bitrate = Integer(load_default=0, validate=validate.Range(0, 2**40),
                      metadata={"description": "bits per second sent, measured"})
    since = epoch_ms(load_default=None, allow_none=True,
                     metadata={"description": "when the state began (epoch ms)"})


class SourceStateSchema(Schema):
    """What the render worker knows of one video or input layer's source."""

    state = Text(allow_none=True, load_default=None)
    width = Integer(allow_none=True, load_default=None, validate=validate.Range(0, 2**31))
    height = Integer(allow_none=True, load_default=None, validate=validate.Range(0, 2**31))
    fps = Number(allow_none=True, load_default=None, validate=validate.Range(0, 10**6))
    codec = Text(allow_none=True, load_default=None)
    audio = Boolean(load_default=False)
    duration = Number(allow_none=True, load_default=None, validate=validate.Range(0, 10**9))
    lostSince = epoch_ms(allow_none=True, load_default=None)
    error = Text(allow_none=True, load_default=None)


class TelemetrySchema(Schema):
    """What the render worker measures, written about once a second."""

    fps = Number(load_default=0.0, validate=validate.Range(0, 1000))
    frameCount = Integer(load_default=0, validate=validate.Range(0, 2**53))
    droppedFrames = Integer(load_default=0, validate=validate.Range(0, 2**53))
    averageRenderTime = Number(load_default=0.0, validate=validate.Range(0, 10**6))
    error = Text(allow_none=True, load_default=None)
    outputs = fields.List(fields.Nested(OutputStatusSchema), load_default=list)
    layerErrors = fields.Dict(keys=Text(), values=Text(), load_default=dict)
    # Layer id -> its source's state (video and input layers).
    sources = fields.Dict(keys=Text(), values=fields.Nested(SourceStateSchema),
                          load_default=dict)
    # The audio levels (core.schemas.audio), passed through as the render worker measures
    # them; null while it measures none.
    audio = fields.Dict(keys=Text(), allow_none=True, load_default=None)
    # Whether the render worker's pipeline is open (or still closing): a stop is confirmed
    # once this is false.
    streaming = Boolean(load_default=False)


class RenderInstanceSchema(Schema):
    """A render worker's heartbeat: which instance, streaming (active) or on standby."""

    id = Text(required=True, validate=validate.Length(1, 64))
    role = Text(required=True, validate=validate.OneOf(RENDER_ROLES))
    pid = Integer(required=True, validate=validate.Range(0, 2**31))
    host = Text(required=True, validate=validate.Length(0, 255))
    at = epoch_ms(required=True)
    # A channel process (render.channel) also names its node, the port it serves its metrics
    # on (the node merges them) and what its scene's sources add to the channel's cost.
    node = Text(allow_none=True, load_default=None, validate=validate.Length(1, 300))
    metricsPort = Integer(allow_none=True, load_default=None, validate=validate.Range(1, 65535))
    sourceCost = Number(load_default=0.0, validate=validate.Range(0, 10_000))


class StreamStatusSchema(Schema):
    """`GET /stream/status`: the wire contract of DESIGN.md."""

    state = Text(required=True, validate=validate.OneOf(DESIRED_STATES))
    isLive = Boolean(required=True)
    isPaused = Boolean(required=True)
    fps = Number(required=True)
    targetFPS = Integer(required=True)
    frameCount = Integer(required=True)
    droppedFrames = Integer(required=True)
    averageRenderTime = Number(required=True)
    startTime = epoch_ms(required=True, allow_none=True)
    error = Text(required=True, allow_none=True)
    version = Integer(required=True)
    outputs = fields.List(fields.Nested(OutputStatusSchema), required=True)
    layerErrors = fields.Dict(keys=Text(), values=Text(), required=True)
    audio = fields.Nested(AudioLevelsSchema, required=True, allow_none=True, metadata={
        "description": "the program's, each sounding layer's and the bed's levels, as the "
                       "render worker last reported them; null while it reports none"})
