"""Response and form bodies of the HTTP API that no store record describes: error bodies, a
pending command, health, media items, preview tickets, the media upload form.

Strings the server makes up are plain `fields.String`; `Text` (no NUL) is for what clients send.

Only the OpenAPI document is generated from them (the views answer plain dicts), so they live
here, beside it; each one must match what the views answer, and the schemathesis test holds
them to it.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from app.openapi.channel_schemas import ChannelRecordSchema, NodeSchema, UnplacedSchema
from core.audio.schemas import AudioSettingsSchema
from core.layers.schemas import LayerSchema
from core.media import EXTENSIONS
from core.outputs.schemas import OutputSchema
from core.recordings import NAME_PATTERN as RECORDING_NAME
from core.schemas.audio import AudioLevelsSchema
from core.schemas.fields import Boolean, Integer, Number, Text, epoch_ms
from core.schemas.stream import OUTPUT_STATES

# Command ids are uuid4 hex; the path rule (app.http.resource_id) accepts a little more.
COMMAND_ID = validate.Length(1, 64)
MEDIA_FORMATS = sorted({name for kind in EXTENSIONS.values() for name in kind.values()})
_SUFFIXES = sorted(suffix for kind in EXTENSIONS.values() for suffix in kind)
# A plain file name core.media.check_source accepts (upload names have no folder part), its
# extension in any case: .png, .PNG, .Mp4...
UPLOAD_NAME = (r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,94}\.(" + "|".join(
    "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in suffix[1:])
    for suffix in _SUFFIXES) + ")$")


class EmptySchema(Schema):
    """No fields: an action that takes no input accepts no body or `{}`."""


class ErrorSchema(Schema):
    """Every error: a code, a message and, when fields are to blame, one message per field
    (`transform.x`, `content.color`, `If-Match`, `Content-Type`, ...)."""

    error = fields.String(required=True, metadata={
        "description": "a stable code: validation_error, not_found, conflict, ..."})
    message = fields.String(required=True)
    # Named otherwise in Python so that `fields` in this class body stays the marshmallow module.
    field_messages = fields.Dict(
        keys=fields.String(), values=fields.String(), data_key="fields",
        metadata={"description": "field name -> what is wrong with it"})


class VersionConflictSchema(ErrorSchema):
    """412: If-Match named a version that is no longer current; `current` is the layer now."""

    current = fields.Nested(LayerSchema, required=True)


class AudioVersionConflictSchema(ErrorSchema):
    """412: If-Match named a version of the audio settings that is no longer current;
    `current` is the settings now."""

    current = fields.Nested(AudioSettingsSchema, required=True)


class ChannelVersionConflictSchema(ErrorSchema):
    """412: If-Match named a version of the channel that is no longer current; `current` is
    the channel now."""

    current = fields.Nested(ChannelRecordSchema, required=True)


class RateLimitedSchema(ErrorSchema):
    """429: over RATE_LIMIT; `limit` is the limit passed, such as "100 per 1 minute"."""

    limit = fields.String(required=True)


class PendingSchema(Schema):
    """202: the command was queued but its worker had not finished within COMMAND_TIMEOUT."""

    taskId = fields.String(required=True, validate=COMMAND_ID)
    status = fields.String(required=True, validate=validate.OneOf(("pending",)))
    statusUrl = fields.String(metadata={
        "description": "where to follow it (GET /stream/commands/<id>); absent when that is "
                       "the address asked"})


class CommandStatusSchema(Schema):
    """`GET /stream/commands/<id>`: pending (202), or done with the HTTP status and body the
    command would have answered with."""

    taskId = fields.String(required=True, validate=COMMAND_ID)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "done")))
    httpStatus = Integer(validate=validate.Range(100, 599))
    result = fields.Raw(allow_none=True,
                        metadata={"description": "the body: a layer, a list, an error, or null "
                                                 "for 204"})


class RedisCheckSchema(Schema):
    """Redis answers PING (with its latency), or the error."""

    ok = Boolean(required=True)
    latencyMs = Number()
    error = fields.String()


class BrokerCheckSchema(Schema):
    """The depth of the Celery queues (the broker is the same Redis)."""

    ok = Boolean(required=True)
    queue = fields.String()
    queueDepth = Integer(validate=validate.Range(0))
    queues = fields.Dict(keys=fields.String(), values=Integer(validate=validate.Range(0)))
    error = fields.String()


class WorkerCheckSchema(Schema):
    """A Celery worker ran a periodic check recently (its heartbeat)."""

    ok = Boolean(required=True)
    lastSeenSecondsAgo = Number(allow_none=True)


class BeatCheckSchema(Schema):
    """A celery beat holds the scheduler lease."""

    ok = Boolean(required=True)
    scheduler = fields.String(allow_none=True)


class RenderCheckSchema(Schema):
    """A render worker holds the lease and beats; standbys are counted."""

    ok = Boolean(required=True)
    active = fields.String(allow_none=True)
    standby = Integer(validate=validate.Range(0))
    lastSeenSecondsAgo = Number(allow_none=True)


class HealthChecksSchema(Schema):
    """One entry per dependency; only redis and broker when Redis is down."""

    redis = fields.Nested(RedisCheckSchema, required=True)
    broker = fields.Nested(BrokerCheckSchema, required=True)
    worker = fields.Nested(WorkerCheckSchema)
    beat = fields.Nested(BeatCheckSchema)
    render = fields.Nested(RenderCheckSchema)


class LastCheckSchema(Schema):
    """The periodic health checks' latest results (null for one that never ran)."""

    ok = Boolean(required=True)
    secondsAgo = Number(allow_none=True)
    results = fields.Dict(keys=fields.String(), values=fields.Dict(allow_none=True),
                          metadata={"description": "check name -> its last result (with "
                                                   "`ok` and `at`, epoch ms) or null"})


class HealthSchema(Schema):
    """`GET /health`: ok, degraded (a part is missing) or down (503, Redis unreachable)."""

    status = fields.String(required=True, validate=validate.OneOf(("ok", "degraded", "down")))
    checks = fields.Nested(HealthChecksSchema, required=True)
    lastCheck = fields.Nested(LastCheckSchema)
    nodes = fields.List(fields.Nested(NodeSchema), metadata={
        "description": "every render node, as GET /nodes lists them"})
    unplaced = fields.List(fields.Nested(UnplacedSchema), metadata={
        "description": "the channels no render node holds, with the reason; a live or "
                       "paused one among them makes the status degraded"})
    error = fields.String(metadata={"description": "with status down: unavailable"})
    message = fields.String()


class MediaItemSchema(Schema):
    """One file of the media library: an image, a video or an audio file."""

    name = fields.String(required=True, metadata={"description": "path under MEDIA_ROOT"})
    size = Integer(required=True, validate=validate.Range(0), metadata={"description": "bytes"})
    kind = fields.String(required=True, validate=validate.OneOf(tuple(EXTENSIONS)))
    format = fields.String(required=True, validate=validate.OneOf(MEDIA_FORMATS), metadata={
        "description": "what the name's extension says (uploads are checked to match)"})
    width = Integer(required=True, allow_none=True, validate=validate.Range(1), metadata={
        "description": "pixels; null for audio"})
    height = Integer(required=True, allow_none=True, validate=validate.Range(1))
    duration = Number(required=True, allow_none=True, validate=validate.Range(0), metadata={
        "description": "seconds; null for images (and files that do not say)"})
    fps = Number(required=True, allow_none=True, validate=validate.Range(0), metadata={
        "description": "a video's average frame rate"})
    videoCodec = fields.String(required=True, allow_none=True, metadata={
        "description": "FFmpeg's name: h264, hevc, vp9, av1..."})
    audioCodec = fields.String(required=True, allow_none=True, metadata={
        "description": "FFmpeg's name: aac, mp3, opus, flac, pcm_s16le..."})
    modifiedAt = epoch_ms(required=True)
    poster = fields.String(required=True, allow_none=True, metadata={
        "description": "a video's poster frame (JPEG): /media/<name>/poster; null otherwise"})


class MediaUploadSchema(Schema):
    """`POST /media` (multipart/form-data). The views read the form themselves; this describes
    it for the OpenAPI document."""

    class Meta:
        # The form may carry other parts; only these are read.
        unknown = INCLUDE

    file = fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "an image (PNG, JPEG, WebP), video (MP4, MOV, MKV, WebM) or audio file "
                       "(M4A, MP3, WAV, Ogg, Opus, FLAC) whose content matches its name's "
                       "extension; a video or audio file must have a stream that decodes"})
    name = Text(validate=validate.Regexp(UPLOAD_NAME), metadata={
        "description": "file name to store it under (default: the upload's file name); "
                       "letters, digits, space and . _ -, ending in "
                       f"{', '.join(_SUFFIXES)} to match the content"})
    overwrite = Text(validate=validate.OneOf(("true", "false")), metadata={
        "description": "replace an existing file of that name (default false: 409)"})


class TicketSchema(Schema):
    """`POST /preview/ticket`: a single-use ticket for the preview handshake."""

    ticket = fields.String(required=True, validate=validate.Length(1, 128))
    expiresIn = Integer(required=True, metadata={"description": "seconds"})


class PlaybackReadSchema(Schema):
    """Where a video layer is: `position` seconds at `since`, moving while playing."""

    state = fields.String(required=True, validate=validate.OneOf(("playing", "paused", "ended")))
    position = Number(required=True, metadata={"description": "seconds into the file"})
    since = epoch_ms(required=True, metadata={"description": "when the position held"})
    duration = Number(allow_none=True, metadata={
        "description": "seconds, as the render worker found (null until it has)"})


class InputStateSchema(Schema):
    """What the render worker reports of an input layer's stream."""

    state = fields.String(required=True, validate=validate.OneOf(("connecting", "live", "lost")))
    width = Integer(required=True, allow_none=True)
    height = Integer(required=True, allow_none=True)
    fps = Number(required=True, allow_none=True)
    codec = fields.String(required=True, allow_none=True)
    audio = fields.Boolean(required=True, metadata={"description": "the stream has sound"})
    lostSince = epoch_ms(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)


class LayerReadSchema(LayerSchema):
    """A layer as reads answer it: with the render worker's problem with it, or null; a
    video's playback and an input's state."""

    error = fields.String(required=True, allow_none=True, metadata={
        "description": "the render worker's problem with this layer (such as a missing image)"})
    playback = fields.Nested(PlaybackReadSchema, metadata={"description": "video layers only"})
    input = fields.Nested(InputStateSchema, metadata={"description": "input layers only"})


class OutputReadSchema(OutputSchema):
    """An output as reads answer it: stored fields plus its live state."""

    state = fields.String(required=True, validate=validate.OneOf(OUTPUT_STATES))
    error = fields.String(required=True, allow_none=True)
    bitrate = Integer(required=True, metadata={"description": "bits per second, measured"})
    since = epoch_ms(required=True, allow_none=True,
                     metadata={"description": "when the state began"})


class AudioReadSchema(AudioSettingsSchema):
    """The audio settings as reads and changes answer them: with the render worker's levels."""

    levels = fields.Nested(AudioLevelsSchema, required=True, allow_none=True, metadata={
        "description": "the program's, each sounding layer's and the bed's levels, as the "
                       "render worker last reported them (about once a second); null while "
                       "it reports none"})


class RecordingSchema(Schema):
    """One recording in RECORDINGS_DIR (`GET /stream/recordings`)."""

    name = fields.String(required=True, validate=validate.Regexp(RECORDING_NAME), metadata={
        "description": "the file name, as `GET /stream/recordings/{name}` takes it"})
    bytes = Integer(required=True, validate=validate.Range(0),
                    metadata={"description": "its size now (a file being written grows)"})
    startedAt = epoch_ms(required=True, metadata={
        "description": "from the UTC stamp in the name, else the last write minus the length"})
    durationSeconds = Number(required=True, allow_none=True, validate=validate.Range(0),
                             metadata={"description": "null while a new file cannot be read"})


class LayerTypeFieldSchema(Schema):
    """One content field of a layer type (`GET /stream/layer-types`)."""

    name = fields.String(required=True, metadata={"description": "the key in `content`"})
    kind = fields.String(required=True, validate=validate.OneOf(
        ("text", "integer", "number", "boolean", "color", "media")))
    required = Boolean(required=True)
    nullable = Boolean(required=True)
    default = fields.Raw(required=True, allow_none=True,
                         metadata={"description": "filled in when left out; null if none"})
    description = fields.String(required=True)
    accept = fields.String(metadata={"description": "for media: the kind of file"})
    min = Number()
    max = Number()
    minLength = Integer()
    maxLength = Integer()
    choices = fields.List(fields.Raw())


class LayerTypeSchema(Schema):
    """A layer type from the registry, with the fields its `content` takes."""

    type = fields.String(required=True)
    description = fields.String(required=True)
    fields_ = fields.List(fields.Nested(LayerTypeFieldSchema), required=True, data_key="fields")


__all__ = [
    "AudioReadSchema", "AudioVersionConflictSchema", "ChannelVersionConflictSchema",
    "CommandStatusSchema", "EmptySchema",
    "ErrorSchema", "HealthSchema", "LayerReadSchema", "LayerTypeSchema", "OutputReadSchema",
    "MediaItemSchema", "MediaUploadSchema", "PendingSchema", "RateLimitedSchema",
    "RecordingSchema", "TicketSchema",
    "VersionConflictSchema",
]
