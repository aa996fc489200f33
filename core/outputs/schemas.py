"""Outputs on the wire: camelCase JSON loaded into the typed model once at each edge.

rtmp: `url` (rtmp:// or rtmps://; a key given inside it is split off) and `key` (write-only;
reads say `hasKey`). record: `segmentSeconds` (10 s to a day, default 3600) and
`keepSegments` (null keeps every file). Both: `name` (unique), `enabled`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, post_load, validate, validates_schema

from core.outputs.model import (
    DEFAULT_SEGMENT_SECONDS,
    KINDS,
    NewOutput,
    Output,
    split_key,
)
from core.schemas.fields import Boolean, Integer, Text, epoch_ms

NAME = validate.Length(1, 100)
SEGMENT_SECONDS = validate.Range(10, 86_400)
KEEP_SEGMENTS = validate.Range(1, 10_000)
ID_LENGTH = 64
# A stream key is printable and has no spaces: control characters would end up in a URL.
_KEY = re.compile(r"^[\x21-\x7e]{1,512}$")
_RTMP_ONLY = ("url", "key")
_RECORD_ONLY = ("segment_seconds", "keep_segments")
_WIRE = {"segment_seconds": "segmentSeconds", "keep_segments": "keepSegments"}


class _OutputFields(Schema):
    """What a client may set on an output."""

    name = Text(validate=NAME, metadata={"description": "unique among outputs"})
    enabled = Boolean(load_default=True)
    url = Text(allow_none=True, validate=validate.Length(1, 1000), metadata={
        "description": "rtmp://host[:port]/app or rtmps://...; a key on the end is split off"})
    key = Text(allow_none=True, load_only=True, metadata={
        "description": "the stream key; write-only (reads say hasKey)"})
    segment_seconds = Integer(data_key="segmentSeconds", validate=SEGMENT_SECONDS,
                              metadata={"description": "record: seconds per file"})
    keep_segments = Integer(data_key="keepSegments", allow_none=True, validate=KEEP_SEGMENTS,
                            metadata={"description": "record: files kept; null keeps all"})

    @validates_schema
    def _key_is_printable(self, data: dict[str, Any], **kwargs: Any) -> None:
        key = data.get("key")
        if key is not None and not _KEY.fullmatch(key):
            raise ValidationError(
                "must be 1-512 printable characters, without spaces or control characters",
                "key")


class OutputInputSchema(_OutputFields):
    """A new output; loads into a `NewOutput` (the key split off the URL)."""

    kind = Text(required=True, validate=validate.OneOf(KINDS))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> NewOutput:
        # Without a name the store gives it one that is free (core.store.outputs).
        return checked(NewOutput(**{"name": "", **data}), given=set(data))


class OutputPatchSchema(_OutputFields):
    """A partial change, loaded with partial=True; checked whole when the store merges it."""

    kind = Text(validate=validate.OneOf(KINDS))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")


class OutputSchema(Schema):
    """A stored output, as reads show it (without its key)."""

    id = Text(required=True, validate=validate.Length(1, ID_LENGTH))
    name = Text(required=True, validate=NAME)
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    enabled = Boolean(required=True)
    url = Text(required=True, allow_none=True)
    has_key = Boolean(data_key="hasKey", required=True)
    segment_seconds = Integer(data_key="segmentSeconds", required=True, allow_none=True)
    keep_segments = Integer(data_key="keepSegments", required=True, allow_none=True)
    version = Integer(required=True, validate=validate.Range(1, 2**53))
    created_at = epoch_ms(data_key="createdAt", required=True)
    updated_at = epoch_ms(data_key="updatedAt", required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Output:
        return Output(**data)


_NEW = OutputInputSchema()
_PATCH = OutputPatchSchema()
_OUTPUT = OutputSchema()


def load_new_output(wire: Mapping[str, Any]) -> NewOutput:
    """A client's new output from camelCase JSON (ValidationError names the fields)."""
    loaded: NewOutput = _NEW.load(wire)
    return loaded


def load_output_patch(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A change, checked field by field, keyed by model attribute (`segment_seconds`)."""
    loaded: dict[str, Any] = _PATCH.load(wire, partial=True)
    return loaded


def dump_new_output(output: NewOutput) -> dict[str, Any]:
    """A new output as camelCase JSON, without its key (key is write-only) and without the
    settings its kind does not have."""
    wire: dict[str, Any] = _NEW.dump(output)
    return {name: value for name, value in wire.items()
            if (value is not None and value != "") or name == "keepSegments"}


def dump_output_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """A loaded change as camelCase JSON; a key of None (remove it) is kept, a key string is
    not (it travels staged)."""
    wire: dict[str, Any] = _PATCH.dump(patch)
    if "key" in patch and patch["key"] is None:
        wire["key"] = None
    return wire


def load_output(wire: Mapping[str, Any]) -> Output:
    """A stored output from camelCase JSON."""
    loaded: Output = _OUTPUT.load(wire)
    return loaded


def dump_output(output: Output) -> dict[str, Any]:
    """An output as camelCase JSON (never with a key: the model has none)."""
    wire: dict[str, Any] = _OUTPUT.dump(output)
    return wire


def checked(output: NewOutput, given: set[str]) -> NewOutput:
    """`output` made whole for its kind (URL key split off, defaults filled), or
    ValidationError naming each field that does not belong or is wrong. `given` names the
    fields the client sent."""
    errors: dict[str, str] = {}
    wrong_kind = _RECORD_ONLY if output.kind == "rtmp" else _RTMP_ONLY
    for name in wrong_kind:
        if name in given and getattr(output, name) is not None:
            errors[_WIRE.get(name, name)] = f"is not a setting of {output.kind} outputs"
    if output.kind == "rtmp":
        output = _checked_rtmp(output, errors)
    elif output.segment_seconds is None:
        output = replace(output, segment_seconds=DEFAULT_SEGMENT_SECONDS)
    if errors:
        raise ValidationError(errors)
    return output


def _checked_rtmp(output: NewOutput, errors: dict[str, str]) -> NewOutput:
    if not output.url:
        errors["url"] = "an rtmp output needs rtmp://host/app or rtmps://host/app"
        return output
    parts = urlsplit(output.url)
    try:
        parts.port  # noqa: B018 - parsing the port is what checks it
    except ValueError:
        errors["url"] = "has a port that is not a number in 1-65535"
        return output
    if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname:
        errors["url"] = "must be rtmp://host[:port]/app or rtmps://..."
    elif parts.username or parts.password or parts.query or parts.fragment:
        errors["url"] = "must not carry user info, a query or a fragment; send the key as key"
    elif not parts.path.strip("/"):
        errors["url"] = "needs the application path, as in rtmp://host/app"
    if "url" in errors:
        return output
    url, key_in_url = split_key(output.url)
    if key_in_url is not None:
        if output.key is not None and output.key != key_in_url:
            errors["key"] = "is also given inside the URL; send it once"
        elif not _KEY.fullmatch(key_in_url):
            errors["url"] = "its key part has characters a stream key may not have"
    return replace(output, url=url, key=output.key or key_in_url)
