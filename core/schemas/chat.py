"""Chat messages shown by chat layers."""

from __future__ import annotations

from marshmallow import Schema, validate

from core.schemas.fields import Text, epoch_ms


class ChatInputSchema(Schema):
    """`POST /stream/chat`."""

    author = Text(required=True, validate=validate.Length(1, 64))
    message = Text(required=True, validate=validate.Length(1, 500))


class ChatMessageSchema(ChatInputSchema):
    """A stored message."""

    id = Text(required=True, validate=validate.Length(1, 64))
    createdAt = epoch_ms(required=True)
