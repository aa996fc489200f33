"""Input layers: a live stream pulled by the render worker, with a fallback while it is lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, validate, validates_schema

from core.layers.registry import LayerType, register_layer_type
from core.layers.sound import SoundingContent, SoundingContentSchema
from core.schemas.fields import Integer, MediaSource, Text

# What the PyAV wheel's own FFmpeg can pull (docs/field-notes.md): srt is not built in.
SCHEMES = ("rtmp", "rtmps", "rtsp", "http", "https", "udp", "tcp")
FALLBACKS = ("last", "hide", "slate")
MAX_URL_LENGTH = 2048


class InputUrl(Text):
    """A URL the render worker pulls from; a secret (shown masked, never logged)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        url = super()._deserialize(value, attr, data, **kwargs)
        if len(url) > MAX_URL_LENGTH:
            raise ValidationError(f"must be at most {MAX_URL_LENGTH} characters")
        if any(character.isspace() for character in url):
            raise ValidationError("must not contain spaces or line breaks")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise ValidationError(f"is not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme == "srt":
            raise ValidationError("srt:// is not in this build's FFmpeg (the PyAV wheel has "
                                  f"no libsrt); use one of {', '.join(SCHEMES)}")
        if scheme not in SCHEMES:
            raise ValidationError(f"must start with one of {', '.join(s + '://' for s in SCHEMES)}")
        if not parts.hostname:
            raise ValidationError("must name a host")
        return url


@dataclass(frozen=True, kw_only=True)
class InputContent(SoundingContent):
    """`url` to pull; `fallback` shown while it is lost: `last` frame, `hide`, or the `slate`
    image; lost after `lost_after_ms` without a new frame."""

    url: str
    fallback: str = "last"
    slate: str | None = None
    lost_after_ms: int = 1000


class InputContentSchema(SoundingContentSchema):
    """A live stream pulled by the render worker."""

    content_class = InputContent

    url = InputUrl(required=True, metadata={
        "description": "rtmp(s)://, rtsp://, http(s):// (HLS or MPEG-TS), udp:// or tcp:// "
                       "URL to pull; shown masked", "secret": True})
    fallback = Text(load_default="last", validate=validate.OneOf(FALLBACKS), metadata={
        "description": "while lost: hold the last frame, hide the layer, or show the slate"})
    slate = MediaSource(load_default=None, allow_none=True, metadata={
        "description": "the image shown while lost (fallback slate)", "accept": "image"})
    lost_after_ms = Integer(data_key="lostAfterMs", load_default=1000,
                            validate=validate.Range(100, 60_000), metadata={
                                "description": "ms without a new frame before the fallback"})

    @validates_schema
    def _slate_needs_an_image(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("fallback") == "slate" and not data.get("slate"):
            raise ValidationError("fallback slate needs a slate image", "slate")


INPUT = register_layer_type(LayerType(
    "input", InputContentSchema(), "A live stream (RTMP, RTSP, HLS, MPEG-TS) pulled with a "
    "fallback while it is lost"))
