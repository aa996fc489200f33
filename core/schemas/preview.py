"""Preview clients, recorded so the render worker encodes only the qualities someone watches."""

from __future__ import annotations

from marshmallow import Schema, validate

from core.schemas.fields import Boolean, Text, epoch_ms

QUALITIES = ("high", "medium", "low")


class PreviewClientSchema(Schema):
    """One connected preview client."""

    id = Text(required=True, validate=validate.Length(1, 64))
    quality = Text(required=True, validate=validate.OneOf(QUALITIES))
    lastPing = epoch_ms(required=True)
    connected = Boolean(required=True)
    expiresAt = epoch_ms(required=True)
