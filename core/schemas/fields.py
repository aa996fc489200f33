"""Strict fields: JSON types are not coerced (no "1" for 1, no true for 1, no NaN)."""

from __future__ import annotations

import math
import re
from typing import Any

from marshmallow import ValidationError, fields

COLOR_PATTERN = r"^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"
_COLOR = re.compile(COLOR_PATTERN)
EPOCH_MS_MAX = 10**14


class Text(fields.String):
    """A string that can be stored and drawn: valid UTF-8, no NUL."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("must be valid Unicode (no lone surrogates)") from None
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        return text


class Integer(fields.Integer):
    """A JSON integer: not a bool, not a string, not 1.5."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be an integer")
        return value


class Number(fields.Float):
    """A finite JSON number: not a bool, not a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("must be a number")
        number = float(value)
        if not math.isfinite(number):
            raise ValidationError("must be a finite number")
        return number


class Boolean(fields.Boolean):
    """A JSON true or false; no truthy strings or numbers."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class Color(Text):
    """`#rrggbb` or `#rrggbbaa`, stored lower-case."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        color = super()._deserialize(value, attr, data, **kwargs)
        # fullmatch: with match, `$` would also accept a trailing newline.
        if not _COLOR.fullmatch(color):
            raise ValidationError("must be a colour like #rrggbb or #rrggbbaa")
        return color.lower()


def epoch_ms(**kwargs: Any) -> Integer:
    """A timestamp in epoch milliseconds."""
    from marshmallow import validate

    return Integer(validate=validate.Range(0, EPOCH_MS_MAX), **kwargs)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested error dict as {"transform.x": "message"}, one message a field."""
    if isinstance(messages, dict):
        flat: dict[str, str] = {}
        for key, value in messages.items():
            # A nested schema-level error belongs to the nested field itself.
            name = prefix if key == "_schema" and prefix else (
                f"{prefix}.{key}" if prefix else str(key))
            flat.update(flatten_messages(value, name))
        return flat
    if isinstance(messages, list):
        if messages and all(isinstance(item, str) for item in messages):
            return {prefix or "_schema": " ".join(messages)}
        flat = {}
        for item in messages:
            flat.update(flatten_messages(item, prefix))
        return flat
    return {prefix or "_schema": str(messages)}


class MediaSource(Text):
    """A file in the media library, named relative to MEDIA_ROOT (`logos/brand.png`), of the
    kind `metadata["accept"]` names ("image", the default, "video" or "audio").

    Only the name is checked here; whether the file exists is the API's check at the edge,
    and the render worker shows a placeholder for one that went away.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        from core.media import MediaPathError, check_source

        source = super()._deserialize(value, attr, data, **kwargs)
        try:
            check_source(source, self.metadata.get("accept", "image"))
        except MediaPathError as exc:
            raise ValidationError(str(exc)) from None
        return source
