"""The OpenAPI 3.1 document of the HTTP API, generated with apispec from the app's own routes,
view docstrings and marshmallow schemas."""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import replace
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.field_converter import DEFAULT_FIELD_MAPPING
from flask import Flask
from marshmallow import fields

from app.auth import READ_METHODS, VIEWER_MAY_POST
from app.channel_scope import CHANNEL_RULE, SCOPE
from app.openapi.operations import JSON, OPERATIONS, PENDING, Operation
from app.openapi.schemas import ErrorSchema, RateLimitedSchema, VersionConflictSchema
from app.openapi.websocket import websocket_doc
from core.config import Settings
from core.keys import CHANNEL_ID_RE, DEFAULT_CHANNEL
from core.layers import layer_types
from core.layers.schemas import ID_LENGTH
from core.schemas.fields import COLOR_PATTERN, Boolean, Color, Integer, Number, Text

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
# The admin page and its modules are HTML and JavaScript for browsers, not API.
NOT_API = ("static", "ui.")
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_NO_NUL = r"^[^\x00]*$"

# name -> (status, description, schema); every error body is JSON.
ERRORS: dict[str, tuple[int, str, Any]] = {
    "BadRequest": (400, "validation_error: the body, a parameter or a header is not valid; "
                        "`fields` names each one", ErrorSchema),
    "Unauthorized": (401, "unauthorized: API_TOKEN is set and no valid "
                          "`Authorization: Bearer` was sent", ErrorSchema),
    "Forbidden": (403, "forbidden: the read-only VIEWER_TOKEN cannot change anything",
                  ErrorSchema),
    "NotFound": (404, "not_found: no such resource (a malformed id is not found either)",
                 ErrorSchema),
    "Conflict": (409, "conflict: the request does not fit the current state", ErrorSchema),
    "LimitExceeded": (409, "limit_exceeded: MAX_LAYERS layers exist already", ErrorSchema),
    "VersionConflict": (412, "version_conflict: If-Match names an old version; `current` is "
                             "the layer now", VersionConflictSchema),
    "PayloadTooLarge": (413, "payload_too_large: over MAX_JSON_BYTES (JSON), "
                             "MAX_UPLOAD_BYTES / MAX_IMAGE_PIXELS (images) or "
                             "MAX_MEDIA_UPLOAD_BYTES (video and audio)", ErrorSchema),
    "UnsupportedMediaType": (415, "unsupported_media_type: the body is not of the content "
                                  "type this endpoint takes", ErrorSchema),
    "RateLimited": (429, "rate_limited: more changes than RATE_LIMIT (reads are not limited); "
                         "retry after Retry-After seconds", RateLimitedSchema),
    "Unavailable": (503, "unavailable: Redis or the broker cannot be reached; retry after "
                         "Retry-After seconds", ErrorSchema),
}
_RETRY_AFTER = {"description": "seconds to wait before retrying", "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"}}

DESCRIPTION = """\
Admin API of the stream manager. JSON is camelCase; every error is a JSON body
`{"error": code, "message", "fields": {name: message}}`, never an HTML page.

- With API_TOKEN set, every operation but /health, /openapi.json and /docs needs
  `Authorization: Bearer <API_TOKEN>` (401 otherwise). The read-only VIEWER_TOKEN may call
  GET operations and POST /preview/ticket; any other call with it is 403.
- RATE_LIMIT caps the changes (POST, PATCH, DELETE) per client address: 429 with Retry-After.
- A mutation is applied by a worker; the call waits up to COMMAND_TIMEOUT for it, then answers
  202 with the command's address (`GET /stream/commands/{command_id}`).
- Resources carry their `version` as ETag; If-Match makes PATCH, DELETE and visibility
  conditional (412 on a mismatch).
- An operation called with a method it does not have answers 405 `method_not_allowed`.
- The live preview is a WebSocket on WS_PORT, described in `x-websocket`.
- A deployment runs many channels (`/channels`). Every `/stream/...` operation is the
  `default` channel's, and also exists as `/channels/{channel}/stream/...` for any channel
  (tag `channel`): an unknown channel is 404 and a malformed id 400, naming `channel`.
"""


def build_spec(app: Flask, settings: Settings) -> dict[str, Any]:
    """The OpenAPI document of every API route of `app` (KeyError if one is undocumented)."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Stream Manager", version=API_VERSION, openapi_version=OPENAPI_VERSION,
                   plugins=[plugin], info={"description": DESCRIPTION})
    _configure_fields(plugin)
    _add_components(spec, settings)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_API):
            continue
        view = app.view_functions[rule.endpoint]
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(path=_RULE_ARGUMENT.sub(r"{\1}", rule.rule), operations={
            method.lower(): _operation(rule.endpoint, view, _documented(rule.endpoint),
                                       viewer_may=method in READ_METHODS
                                       or rule.rule in VIEWER_MAY_POST)
            for method in methods
        })
    document = spec.to_dict()
    _describe_schemas(plugin, document["components"]["schemas"])
    _describe_content(document["components"]["schemas"])
    document["tags"] = _tags(app)
    document["x-websocket"] = websocket_doc(settings)
    return document


def _documented(endpoint: str) -> Operation:
    """What `endpoint` takes and answers; a channel's twin of a /stream operation
    (`channel.<endpoint>`) is its plain one's, with `channel` in the path and its 400 and 404."""
    twin, dot, plain = endpoint.partition(".")
    if twin != SCOPE or not dot:
        return OPERATIONS[endpoint]
    found = OPERATIONS[plain]
    errors = tuple(dict.fromkeys((*found.errors, "BadRequest", "NotFound")))
    return replace(found, errors=errors, parameters=("channel", *found.parameters))


def _configure_fields(plugin: MarshmallowPlugin) -> None:
    """The strict fields of core.schemas.fields as JSON Schema types."""
    assert plugin.converter is not None
    # A copy: map_to_openapi_type writes into the mapping, which apispec shares between specs.
    plugin.converter.field_mapping = dict(DEFAULT_FIELD_MAPPING)
    plugin.map_to_openapi_type(Integer, "integer", None)
    plugin.map_to_openapi_type(Number, "number", None)
    plugin.map_to_openapi_type(Boolean, "boolean", None)
    plugin.map_to_openapi_type(Text, "string", None)

    def strict_text(self: Any, field: fields.Field, ret: dict[str, Any],
                    **kwargs: Any) -> dict[str, Any]:
        if isinstance(field, Color):
            return {"pattern": COLOR_PATTERN}
        if isinstance(field, Text) and "enum" not in ret and "pattern" not in ret:
            return {"pattern": _NO_NUL}
        return {}

    plugin.converter.add_attribute_function(strict_text)


def _add_components(spec: APISpec, settings: Settings) -> None:
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for name, (_status, description, schema) in ERRORS.items():
        response: dict[str, Any] = {"description": description,
                                    "content": {JSON: {"schema": schema}}}
        if name in ("RateLimited", "Unavailable"):
            response["headers"] = {"Retry-After": _RETRY_AFTER}
        if name == "Unauthorized":
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        spec.components.response(name, response)
    spec.components.response("Pending", PENDING)
    for kind, layer_type in layer_types().items():
        title = kind.capitalize()
        schema = type(layer_type.schema)
        spec.components.schema(f"{title}Content", schema=schema)
        # A PATCH merges content key by key, so any subset of the keys is a valid change.
        spec.components.schema(f"{title}ContentPatch", schema=schema(partial=True))
    id_schema = {"type": "string", "pattern": f"^[A-Za-z0-9_-]{{1,{ID_LENGTH}}}$"}
    spec.components.parameter("layer_id", "path", {
        "description": "a layer id", "required": True, "schema": id_schema})
    spec.components.parameter("output_id", "path", {
        "description": "an output id", "required": True, "schema": id_schema})
    channel_id = {"type": "string", "pattern": CHANNEL_ID_RE.pattern}
    for name in ("channel", "channel_id"):
        spec.components.parameter(name, "path", {
            "description": f"a channel id ({CHANNEL_RULE})", "required": True,
            "example": DEFAULT_CHANNEL, "schema": channel_id})
    spec.components.parameter("command_id", "path", {
        "description": "the taskId of a 202", "required": True, "schema": id_schema})
    spec.components.parameter("name", "path", {
        "description": "a file's path in the media library", "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    spec.components.parameter("IfMatch", "header", {
        "name": "If-Match", "required": False,
        "description": 'answer 412 unless the layer is at this version ("3", W/"3" or *)',
        "schema": {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,16}"?)$'}})
    spec.components.parameter("limit", "query", {
        "description": "how many of the latest messages (default 50 or CHAT_HISTORY)",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": settings.chat_history}})


def _operation(endpoint: str, view: Any, found: Operation, *,
               viewer_may: bool) -> dict[str, Any]:
    doc = inspect.getdoc(view) or endpoint
    responses: dict[int, Any] = dict(found.responses)
    if found.pending:
        responses[202] = "Pending"
    for name in found.errors:
        responses[ERRORS[name][0]] = name
    if not found.open:
        responses[401] = "Unauthorized"
        if not viewer_may:
            responses[403] = "Forbidden"
    responses[429] = "RateLimited"
    responses.setdefault(503, "Unavailable")
    operation: dict[str, Any] = {
        "operationId": endpoint, "tags": [endpoint.partition(".")[0]],
        "summary": _summary(doc), "description": doc,
        "responses": {str(code): responses[code] for code in sorted(responses)},
    }
    if found.open:
        operation["security"] = []
    if found.parameters:
        operation["parameters"] = list(found.parameters)
    if found.body is not None:
        operation["requestBody"] = {"required": found.body.required, "content": {
            found.body.media_type: {"schema": found.body.schema}}}
    return operation


def _summary(doc: str) -> str:
    """The first sentence of a docstring, on one line."""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    return re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0].rstrip(".")


def _describe_schemas(plugin: MarshmallowPlugin, schemas: dict[str, Any]) -> None:
    """Each schema's docstring as its description (apispec takes only Meta.description)."""
    assert plugin.converter is not None
    for key, name in plugin.converter.refs.items():
        doc = inspect.getdoc(key[0])  # apispec keys a schema by (class, *modifiers)
        if doc and name in schemas:
            schemas[name].setdefault("description", " ".join(doc.split()))


def _describe_content(schemas: dict[str, Any]) -> None:
    """A layer's `content` is checked against its `type` (a marshmallow post_load, which
    apispec cannot see): say which shapes it takes."""
    full = [{"$ref": f"#/components/schemas/{kind.capitalize()}Content"}
            for kind in layer_types()]
    partial = [{"$ref": f"#/components/schemas/{kind.capitalize()}ContentPatch"}
               for kind in layer_types()]
    what = "by type: " + ", ".join(f"{kind} {kind.capitalize()}Content"
                                   for kind in layer_types())
    # The layer schemas and the show control ones built on them (app.openapi.show_schemas).
    layers = ("LayerInput", "Layer", "LayerRead", "LayerWithTransition", "SceneLayerInput")
    for name in (name for name in layers if name in schemas):
        schemas[name]["properties"]["content"] = {"anyOf": full, "description": what}
        # The type is checked against the registry at load time, which apispec cannot see.
        schemas[name]["properties"]["type"]["enum"] = list(layer_types())
    if "ChannelPatch" in schemas:
        schemas["ChannelPatch"]["minProperties"] = 1  # a validates_schema apispec cannot see
    patches = [name for name in ("LayerPatch", "PatchWithTransition") if name in schemas]
    for name in patches:
        schemas[name]["properties"]["content"] = {
            "anyOf": partial, "description": "keys to change, merged into the layer's content"}
        schemas[name]["minProperties"] = 1
    # A partial load fills no defaults: a key left out of a change keeps its value.
    for name in (*patches, *(f"{kind.capitalize()}ContentPatch" for kind in layer_types())):
        for prop in schemas[name]["properties"].values():
            prop.pop("default", None)


def _tags(app: Flask) -> list[dict[str, str]]:
    """One tag per blueprint, described by its module's docstring."""
    tags = []
    for name, blueprint in app.blueprints.items():
        # A channel's twins are tagged `channel`, not with their own blueprint's dotted name.
        if name + "." in NOT_API or "." in name:
            continue
        module = sys.modules.get(blueprint.import_name)
        doc = inspect.getdoc(module) if module else None
        tags.append({"name": name, "description": (doc or name).split("\n\n")[0]})
    return tags
