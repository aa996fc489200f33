"""Response bodies of channels, render nodes and placements (GET /channels, GET /nodes, the
`placement` of a stream status, /health's `nodes` and `unplaced`), for the OpenAPI document.
Like app.openapi.schemas, they describe what the views answer; the schemathesis test holds
the views to them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.channels.schemas import EffectiveOutputSchema
from core.keys import CHANNEL_ID_RE
from core.schemas.fields import Boolean, Integer, Number, epoch_ms
from core.schemas.stream import DESIRED_STATES, OUTPUT_STATES
from core.schemas.stream import StreamStatusSchema as StoredStatusSchema
from core.store.placement import NODE_STATES, PLACEMENT_STATES

CHANNEL_ID = validate.Regexp(CHANNEL_ID_RE)


class PlacementSchema(Schema):
    """Where a channel runs: `placed` on `node`, or `unplaced` with the `reason` (no node has
    room for its `cost`, or no render node runs)."""

    state = fields.String(required=True, validate=validate.OneOf(PLACEMENT_STATES))
    node = fields.String(required=True, allow_none=True)
    epoch = Integer(required=True, validate=validate.Range(0), metadata={
        "description": "the fencing epoch: one more at every move of the channel"})
    since = epoch_ms(required=True, allow_none=True, metadata={
        "description": "when it was placed as it is (null: never placed)"})
    cost = Number(required=True, validate=validate.Range(0), metadata={
        "description": "cost units: width x height x fps / (1280 x 720 x 30), plus its "
                       "sources' while live or paused; 0 while stopped"})
    reason = fields.String(required=True, allow_none=True)


class NodeSchema(Schema):
    """A render node as its last heartbeat says."""

    id = fields.String(required=True)
    host = fields.String(required=True)
    capacity = Number(required=True, metadata={"description": "cost units (RENDER_CAPACITY)"})
    # Named otherwise in Python: `load` is the schema's own method.
    load_ = Number(required=True, data_key="load",
                   metadata={"description": "cost units of its channels"})
    channels = fields.List(fields.String(), required=True,
                           metadata={"description": "the channels it holds"})
    heartbeatAge = Number(required=True, validate=validate.Range(0),
                          metadata={"description": "seconds since its last heartbeat"})
    draining = Boolean(required=True)
    state = fields.String(required=True, validate=validate.OneOf(NODE_STATES), metadata={
        "description": "up; draining (handing its channels over); lost (no heartbeat for "
                       "over a second: its channels move)"})


class NodesSchema(Schema):
    """`GET /nodes`."""

    nodes = fields.List(fields.Nested(NodeSchema), required=True)


class UnplacedSchema(Schema):
    """A channel no render node holds, and why."""

    channel = fields.String(required=True, validate=CHANNEL_ID)
    reason = fields.String(required=True)


class StreamStatusSchema(StoredStatusSchema):
    """`GET /stream/status`: the wire contract of DESIGN.md, with the channel's placement."""

    placement = fields.Nested(PlacementSchema, required=True)


class OutputSummarySchema(Schema):
    """One output of a channel, in short."""

    id = fields.String(required=True, allow_none=True)
    name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(OUTPUT_STATES))


class ChannelStatusSchema(Schema):
    """What the channel's render reports, in short (GET .../stream/status has it all)."""

    fps = Number(required=True)
    targetFPS = Integer(required=True)
    droppedFrames = Integer(required=True)
    error = fields.String(required=True, allow_none=True)
    outputs = fields.List(fields.Nested(OutputSummarySchema), required=True)


class ChannelRecordSchema(Schema):
    """A channel: its `output` is what it renders at (its own settings, the deployment's
    OUTPUT_WIDTH, OUTPUT_HEIGHT, RENDER_FPS and VIDEO_BITRATE for the rest)."""

    id = fields.String(required=True, validate=CHANNEL_ID)
    name = fields.String(required=True)
    output = fields.Nested(EffectiveOutputSchema, required=True)
    createdAt = epoch_ms(required=True)
    version = Integer(required=True)


class ChannelReadSchema(ChannelRecordSchema):
    """A channel as reads answer it: with its desired state, placement and status."""

    state = fields.String(required=True, validate=validate.OneOf(DESIRED_STATES))
    placement = fields.Nested(PlacementSchema, required=True)
    status = fields.Nested(ChannelStatusSchema, required=True)
