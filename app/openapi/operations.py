"""What each API endpoint takes and answers, beyond what its Flask rule and docstring say.

Keyed by Flask endpoint name. Paths, methods, summaries and descriptions come from the app
itself (app.openapi.spec); bodies are marshmallow schemas, turned into JSON Schema by apispec.
An endpoint missing here stops the document from being built, so no route goes undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema

from app.openapi.channel_schemas import ChannelReadSchema, NodesSchema, StreamStatusSchema
from app.openapi.schemas import (
    AudioReadSchema,
    AudioVersionConflictSchema,
    ChannelVersionConflictSchema,
    CommandStatusSchema,
    EmptySchema,
    ErrorSchema,
    HealthSchema,
    LayerReadSchema,
    LayerTypeSchema,
    MediaItemSchema,
    MediaUploadSchema,
    OutputReadSchema,
    PendingSchema,
    RecordingSchema,
    TicketSchema,
)
from app.openapi.show_schemas import (
    BatchInputSchema,
    BatchResultSchema,
    DeleteBodySchema,
    HistorySchema,
    LayerWithTransitionSchema,
    PatchWithTransitionSchema,
    ReplaySchema,
    SceneInputSchema,
    ScenePatchSchema,
    SceneSchema,
    TakeInputSchema,
    TakeResultSchema,
    VisibilityWithTransitionSchema,
)
from core.audio.schemas import AudioPatchSchema, BedActionSchema
from core.channels.schemas import ChannelInputSchema, ChannelPatchSchema
from core.cues.schemas import CueInputSchema, CueSchema
from core.layers.playback import PlaybackActionSchema
from core.layers.schemas import (
    LayerSchema,
    ReorderSchema,
)
from core.media import MEDIA_TYPES
from core.outputs.schemas import OutputInputSchema, OutputPatchSchema, OutputSchema
from core.recordings import MEDIA_TYPES as RECORDING_TYPES
from core.recordings import NAME_PATTERN as RECORDING_NAME
from core.schemas import (
    ChatInputSchema,
    ChatMessageSchema,
    PreviewClientSchema,
)

JSON = "application/json"

ETAG = {"description": "the resource's version, quoted (send it back as If-Match)",
        "required": True, "schema": {"type": "string", "pattern": r'^"[0-9]+"$'}}
LOCATION = {"description": "where the new resource (or the pending command) can be read",
            "required": True, "schema": {"type": "string"}}


@dataclass(frozen=True)
class Body:
    """A request body: its schema and media type; optional bodies may be left out."""

    schema: Schema | type[Schema]
    media_type: str = JSON
    required: bool = True


@dataclass(frozen=True)
class Operation:
    """One endpoint: request body, extra parameters, own responses and the error responses
    (component names) that apply to it. `open` endpoints need no token."""

    responses: dict[int, dict[str, Any]]
    errors: tuple[str, ...] = ()
    body: Body | None = None
    parameters: tuple[str | dict[str, Any], ...] = ()
    open: bool = False
    pending: bool = False  # may answer 202 when its command is slow
    extra: dict[str, Any] = field(default_factory=dict)


def json_response(description: str, schema: Any, **headers: dict[str, Any]) -> dict[str, Any]:
    """A JSON response with `schema` (a marshmallow schema, or a JSON Schema dict)."""
    response: dict[str, Any] = {"description": description,
                                "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = {name.replace("_", "-"): value for name, value in headers.items()}
    return response


_NO_BODY = Body(EmptySchema, required=False)
_STATUS = json_response("the stream status", StreamStatusSchema, ETag=ETAG)
_LAYER = json_response("the layer", LayerSchema, ETag=ETAG)
_CHANNEL = json_response("the channel", ChannelReadSchema, ETag=ETAG)
_INPUT = ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType")
_AUDIO = {200: json_response("the audio settings and levels", AudioReadSchema, ETag=ETAG),
          412: json_response("version_conflict: If-Match names an old version; `current` is "
                             "the settings now", AudioVersionConflictSchema)}
_CHANGE = ("BadRequest", "NotFound", "VersionConflict", "PayloadTooLarge",
           "UnsupportedMediaType")


# A name off this pattern, or naming a symlink, answers 404 naming `name`.
_RECORDING_NAME = {"name": "name", "in": "path", "required": True,
                   "description": "a recording's file name, as listed",
                   "schema": {"type": "string", "pattern": RECORDING_NAME}}
_RANGE = {"name": "Range", "in": "header", "required": False,
          "description": "one byte range: bytes=0-99, bytes=100- or the last N: bytes=-N",
          "schema": {"type": "string"}}
_CUE_ID = {"name": "cue_id", "in": "path", "required": True, "description": "a cue id",
           "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}}
_SCENE_ID = {"name": "scene_id", "in": "path", "required": True, "description": "a scene id",
             "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}}
_BEFORE = {"name": "before", "in": "query", "required": False,
           "description": "only changes older than this seq (the `next` of a page)",
           "schema": {"type": "integer", "minimum": 1}}
_CONTENT_RANGE = {"description": "the part sent and the whole size: bytes 0-99/12345, or "
                                 "bytes */12345 with a 416",
                  "required": True, "schema": {"type": "string"}}


def _file(description: str, media_types: dict[str, str],
          **headers: dict[str, Any]) -> dict[str, Any]:
    """A file's bytes (or some of them), of one of `media_types` (extension -> type)."""
    response = json_response(description, None, **headers)
    response["content"] = {kind: {"schema": {"type": "string", "format": "binary"}}
                           for kind in sorted(set(media_types.values()))}
    return response


def _ranged_file(media_types: dict[str, str], name: str | dict[str, Any]) -> Operation:
    """GET of a file by `name`, served with werkzeug's conditional responses: Range, If-Range,
    If-None-Match and If-Modified-Since."""
    return Operation(
        {200: _file("the whole file", media_types),
         206: _file("the part the Range asked for", media_types, Content_Range=_CONTENT_RANGE),
         304: {"description": "not modified since the If-None-Match or If-Modified-Since"},
         416: json_response("range_not_satisfiable: the Range starts past the end",
                            ErrorSchema, Content_Range=_CONTENT_RANGE)},
        ("NotFound",), parameters=(name, _RANGE))


def _control(conflict: bool) -> Operation:
    return Operation({200: _STATUS}, _INPUT + (("Conflict",) if conflict else ()), _NO_BODY,
                     pending=True)


OPERATIONS: dict[str, Operation] = {
    "stream.status": Operation({200: _STATUS}),
    "stream.start": _control(conflict=False),
    "stream.stop": _control(conflict=False),
    "stream.pause": _control(conflict=True),
    "stream.resume": _control(conflict=True),
    "layer_types.list_layer_types": Operation(
        {200: json_response("every layer type with its content fields",
                            LayerTypeSchema(many=True))}),
    "layers.list_layers": Operation(
        {200: json_response("every layer, bottom first", LayerReadSchema(many=True))}),
    "layers.create_layer": Operation(
        {201: json_response("the new layer", LayerSchema, ETag=ETAG, Location=LOCATION)},
        _INPUT + ("LimitExceeded",), Body(LayerWithTransitionSchema), pending=True),
    "layers.get_layer": Operation(
        {200: json_response("the layer", LayerReadSchema, ETag=ETAG)}, ("NotFound",),
        parameters=("layer_id",)),
    "layers.update_layer": Operation(
        {200: _LAYER}, _CHANGE, Body(PatchWithTransitionSchema(partial=True)),
        parameters=("layer_id", "IfMatch"), pending=True),
    "layers.delete_layer": Operation(
        {204: {"description": "deleted"}}, _CHANGE, Body(DeleteBodySchema, required=False),
        parameters=("layer_id", "IfMatch"), pending=True),
    "layers.set_visibility": Operation(
        {200: _LAYER}, _CHANGE, Body(VisibilityWithTransitionSchema),
        parameters=("layer_id", "IfMatch"), pending=True),
    "layers.control_playback": Operation(
        {200: _LAYER}, _CHANGE + ("Conflict",), Body(PlaybackActionSchema),
        parameters=("layer_id", "IfMatch"), pending=True),
    "layers.reorder_layers": Operation(
        {200: json_response("every layer in its new order", LayerSchema(many=True))},
        _INPUT + ("Conflict",), Body(ReorderSchema), pending=True),
    "show.apply_batch": Operation(
        {200: json_response("the layers after the batch and one result per operation",
                            BatchResultSchema)},
        _INPUT + ("NotFound", "Conflict", "VersionConflict", "LimitExceeded"),
        Body(BatchInputSchema), pending=True),
    "show.history": Operation(
        {200: json_response("changes, newest first", HistorySchema)}, ("BadRequest",),
        parameters=("limit", _BEFORE)),
    "show.undo": Operation(
        {200: json_response("the change undone", ReplaySchema)}, _INPUT + ("Conflict",),
        _NO_BODY, pending=True),
    "show.redo": Operation(
        {200: json_response("the change redone", ReplaySchema)}, _INPUT + ("Conflict",),
        _NO_BODY, pending=True),
    "scenes.list_scenes": Operation(
        {200: json_response("every scene, by name", SceneSchema(many=True))}),
    "scenes.create_scene": Operation(
        {201: json_response("the new scene", SceneSchema, Location=LOCATION)},
        _INPUT + ("Conflict", "LimitExceeded"), Body(SceneInputSchema), pending=True),
    "scenes.get_scene": Operation(
        {200: json_response("the scene", SceneSchema)}, ("NotFound",),
        parameters=(_SCENE_ID,)),
    "scenes.update_scene": Operation(
        {200: json_response("the scene", SceneSchema)}, _CHANGE + ("Conflict",),
        Body(ScenePatchSchema), parameters=(_SCENE_ID, "IfMatch"), pending=True),
    "scenes.delete_scene": Operation(
        {204: {"description": "deleted"}}, ("NotFound",), parameters=(_SCENE_ID,),
        pending=True),
    "scenes.take_scene": Operation(
        {200: json_response("the program after the take", TakeResultSchema)},
        _INPUT + ("NotFound", "LimitExceeded"), Body(TakeInputSchema, required=False),
        parameters=(_SCENE_ID,), pending=True),
    "outputs.list_outputs": Operation(
        {200: json_response("every output with its state", OutputReadSchema(many=True))}),
    "outputs.create_output": Operation(
        {201: json_response("the new output", OutputSchema, ETag=ETAG, Location=LOCATION)},
        _INPUT, Body(OutputInputSchema), pending=True),
    "outputs.get_output": Operation(
        {200: json_response("the output", OutputReadSchema, ETag=ETAG)}, ("NotFound",),
        parameters=("output_id",)),
    "outputs.update_output": Operation(
        {200: json_response("the output", OutputSchema, ETag=ETAG)}, _CHANGE,
        Body(OutputPatchSchema(partial=True)), parameters=("output_id", "IfMatch"),
        pending=True),
    "outputs.delete_output": Operation(
        {204: {"description": "deleted"}}, ("BadRequest", "NotFound", "VersionConflict"),
        parameters=("output_id", "IfMatch"), pending=True),
    "cues.list_cues": Operation(
        {200: json_response("every cue: scheduled ones by nextAt, then the rest newest first",
                            CueSchema(many=True))}),
    "cues.create_cue": Operation(
        {201: json_response("the new cue", CueSchema, Location=LOCATION)},
        _INPUT + ("LimitExceeded",), Body(CueInputSchema), pending=True),
    "cues.get_cue": Operation(
        {200: json_response("the cue", CueSchema)}, ("NotFound",), parameters=(_CUE_ID,)),
    "cues.delete_cue": Operation(
        {204: {"description": "cancelled: removed, it never runs"}}, ("NotFound",),
        parameters=(_CUE_ID,), pending=True),
    "audio.get_audio": Operation({200: _AUDIO[200]}),
    "audio.update_audio": Operation(
        _AUDIO, _INPUT, Body(AudioPatchSchema(partial=True)), parameters=("IfMatch",),
        pending=True),
    "audio.control_bed": Operation(
        _AUDIO, _INPUT, Body(BedActionSchema), parameters=("IfMatch",), pending=True),
    "recordings.list_recordings": Operation(
        {200: json_response("every recording, newest first", RecordingSchema(many=True))}),
    "recordings.get_recording": _ranged_file(RECORDING_TYPES, _RECORDING_NAME),
    "recordings.delete_recording": Operation(
        {204: {"description": "deleted"}}, ("NotFound",), parameters=(_RECORDING_NAME,)),
    "chat.list_chat": Operation(
        {200: json_response("the latest messages, oldest first", ChatMessageSchema(many=True))},
        ("BadRequest",), parameters=("limit",)),
    "chat.post_chat": Operation(
        {201: json_response("the stored message", ChatMessageSchema)}, _INPUT,
        Body(ChatInputSchema), pending=True),
    "media.list_media": Operation(
        {200: json_response("the media library", MediaItemSchema(many=True))}),
    "media.get_media": _ranged_file(MEDIA_TYPES, "name"),
    "media.get_poster": Operation(
        {200: _file("a JPEG of the video's frame at 1 s", {".jpg": "image/jpeg"})},
        ("NotFound",), parameters=("name",)),
    "media.upload_media": Operation(
        {201: json_response("the stored file, as listed", MediaItemSchema)},
        _INPUT + ("Conflict",), Body(MediaUploadSchema, "multipart/form-data")),
    "health.health": Operation(
        {200: json_response("Redis answers; status ok, or degraded without a live worker or "
                            "render worker", HealthSchema),
         503: json_response("Redis is unreachable (status down)", HealthSchema)},
        open=True),
    "commands.command_status": Operation(
        {200: json_response("done: the command's HTTP status and body", CommandStatusSchema),
         202: json_response("still pending", CommandStatusSchema)},
        ("NotFound",), parameters=("command_id",)),
    "channels.list_channels": Operation(
        {200: json_response("every channel, default first", ChannelReadSchema(many=True))}),
    "channels.create_channel": Operation(
        {201: json_response("the new channel", ChannelReadSchema, ETag=ETAG, Location=LOCATION)},
        _INPUT + ("Conflict",), Body(ChannelInputSchema), pending=True),
    "channels.get_channel": Operation(
        {200: _CHANNEL}, ("BadRequest", "NotFound"), parameters=("channel_id",)),
    "channels.update_channel": Operation(
        {200: _CHANNEL, 412: json_response("version_conflict: If-Match names an old "
                                           "version; `current` is the channel now",
                                           ChannelVersionConflictSchema)},
        _INPUT + ("NotFound", "Conflict"), Body(ChannelPatchSchema),
        parameters=("channel_id", "IfMatch"), pending=True),
    "channels.delete_channel": Operation(
        {204: {"description": "deleted, with everything it held"}},
        ("BadRequest", "NotFound", "Conflict"), parameters=("channel_id",), pending=True),
    "nodes.list_nodes": Operation(
        {200: json_response("every render node, by id", NodesSchema)}),
    "preview.list_clients": Operation(
        {200: json_response("connected preview clients", PreviewClientSchema(many=True))}),
    "preview.issue_ticket": Operation(
        {201: json_response("a single-use ticket", TicketSchema,
                            Cache_Control={"schema": {"type": "string"}, "required": True})},
        _INPUT, _NO_BODY),
    "openapi.spec": Operation(
        {200: json_response("this document", {"type": "object"})}, open=True),
    "openapi.docs": Operation(
        {200: {"description": "this document as a web page",
               "content": {"text/html": {"schema": {"type": "string"}}}}}, open=True),
}

PENDING = json_response("the command was queued but had not finished in COMMAND_TIMEOUT; "
                        "follow it at Location", PendingSchema, Location=LOCATION)
