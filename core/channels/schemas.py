"""Channels on the wire: camelCase JSON loaded into the typed model once at each edge.

`id` is a slug (core.keys.CHANNEL_ID_RE: lowercase letters, digits and inner hyphens, 1-32
characters), `name` 1-100 characters and unique. `output` sets any of `width` (even,
160-3840), `height` (even, 90-2160), `fps` (1-60) and `videoBitrate` (b/s, within
VIDEO_BITRATE's bounds); what it leaves out (or sets to null) follows the deployment's
OUTPUT_WIDTH, OUTPUT_HEIGHT, RENDER_FPS and VIDEO_BITRATE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.channels.model import (
    Channel,
    ChannelOutput,
    ChannelPatch,
    NewChannel,
    OutputOverrides,
)
from core.config import VIDEO_BITRATE_RANGE
from core.keys import CHANNEL_ID_RE
from core.schemas.fields import Integer, Text, epoch_ms

NAME = validate.Length(1, 100)
WIDTH = (160, 3840)
HEIGHT = (90, 2160)
FPS = validate.Range(1, 60)
_WIRE = {"video_bitrate": "videoBitrate"}


def _even_in(low: int, high: int) -> validate.Validator:
    def check(value: int) -> None:
        if not low <= value <= high or value % 2:
            raise ValidationError(f"must be an even number of pixels in {low}-{high}")

    return check  # type: ignore[return-value]


class _OutputFields(Schema):
    """A channel's output settings, each optional (null: follow the deployment's)."""

    width = Integer(allow_none=True, validate=_even_in(*WIDTH),
                    metadata={"description": "pixels, even; default OUTPUT_WIDTH"})
    height = Integer(allow_none=True, validate=_even_in(*HEIGHT),
                     metadata={"description": "pixels, even; default OUTPUT_HEIGHT"})
    fps = Integer(allow_none=True, validate=FPS,
                  metadata={"description": "frames a second; default RENDER_FPS"})
    video_bitrate = Integer(data_key="videoBitrate", allow_none=True,
                            validate=validate.Range(*VIDEO_BITRATE_RANGE),
                            metadata={"description": "b/s; default VIDEO_BITRATE"})


class ChannelOutputSchema(_OutputFields):
    """Output settings; loads into `OutputOverrides` (a field left out or null is None)."""

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> OutputOverrides:
        return OutputOverrides(**data)


class ChannelOutputPatchSchema(_OutputFields):
    """Output settings to change: loads into (the settings, the fields sent)."""

    @post_load
    def _make(self, data: dict[str, Any],
              **kwargs: Any) -> tuple[OutputOverrides, frozenset[str]]:
        return OutputOverrides(**data), frozenset(data)


class EffectiveOutputSchema(Schema):
    """What a channel renders at, as reads show it."""

    width = Integer(required=True)
    height = Integer(required=True)
    fps = Integer(required=True)
    video_bitrate = Integer(data_key="videoBitrate", required=True)


class ChannelInputSchema(Schema):
    """A new channel; loads into a `NewChannel`."""

    id = Text(required=True, validate=validate.Regexp(
        CHANNEL_ID_RE, error="must be a slug: lowercase letters, digits and inner hyphens, "
                             "1-32 characters"), metadata={"example": "news"})
    name = Text(required=True, validate=NAME, metadata={"description": "unique among channels"})
    output = fields.Nested(ChannelOutputSchema, load_default=OutputOverrides())

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> NewChannel:
        return NewChannel(**data)


class ChannelPatchSchema(Schema):
    """A change of name and/or output settings; loads into a `ChannelPatch`."""

    name = Text(validate=NAME)
    output = fields.Nested(ChannelOutputPatchSchema)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ChannelPatch:
        output, given = data.get("output") or (None, frozenset())
        return ChannelPatch(name=data.get("name"), output=output, output_fields=given)


class ChannelSchema(Schema):
    """A stored channel: its output holds only what it sets."""

    id = Text(required=True, validate=validate.Regexp(CHANNEL_ID_RE))
    name = Text(required=True, validate=NAME)
    output = fields.Nested(ChannelOutputSchema, required=True)
    created_at = epoch_ms(data_key="createdAt", required=True)
    version = Integer(required=True, validate=validate.Range(1, 2**53))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Channel:
        return Channel(**data)


_NEW = ChannelInputSchema()
_PATCH = ChannelPatchSchema()
_CHANNEL = ChannelSchema()
_EFFECTIVE = EffectiveOutputSchema()


def load_new_channel(wire: Mapping[str, Any]) -> NewChannel:
    """A client's new channel from camelCase JSON (ValidationError names the fields)."""
    loaded: NewChannel = _NEW.load(wire)
    return loaded


def load_channel_patch(wire: Mapping[str, Any]) -> ChannelPatch:
    """A client's change from camelCase JSON (ValidationError names the fields)."""
    loaded: ChannelPatch = _PATCH.load(wire)
    return loaded


def load_channel(wire: Mapping[str, Any]) -> Channel:
    """A stored channel from its JSON."""
    loaded: Channel = _CHANNEL.load(wire)
    return loaded


def dump_output_overrides(output: OutputOverrides) -> dict[str, Any]:
    """The output settings a channel sets, as camelCase JSON (unset ones left out)."""
    return {_WIRE.get(name, name): value for name, value in vars(output).items()
            if value is not None}


def dump_channel(channel: Channel) -> dict[str, Any]:
    """A channel as stored: its output holds only what it sets."""
    return {"id": channel.id, "name": channel.name,
            "output": dump_output_overrides(channel.output), "createdAt": channel.created_at,
            "version": channel.version}


def dump_channel_read(channel: Channel, output: ChannelOutput) -> dict[str, Any]:
    """A channel as reads show it, with the output it renders at (`output`: see
    core.channels.effective_output)."""
    effective: dict[str, Any] = _EFFECTIVE.dump(output)
    return {**dump_channel(channel), "output": effective}
