"""Domain errors. Each carries the HTTP status and error code the API answers with.

Workers turn them into command outcomes; the API turns them into JSON bodies in one place.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An operation that cannot be done as asked; never a bug."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        """The JSON error body of the wire contract."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    """The request is well-formed but a field holds a value that is not allowed."""

    status = 400
    code = "validation_error"


class NotFound(DomainError):
    """No resource has that id."""

    status = 404
    code = "not_found"


class UnknownChannel(NotFound):
    """No channel has that id (core.store.channels): every task and route of a channel that
    does not exist answers this, without creating any of its keys."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(f"no channel with id {channel_id!r}", {"channel": "unknown channel"})
        self.channel_id = channel_id


class Conflict(DomainError):
    """The request does not fit the current state (pausing a stopped stream, a stale order)."""

    status = 409
    code = "conflict"


class VersionConflict(DomainError):
    """If-Match named a version that is no longer current."""

    status = 412
    code = "version_conflict"


class LimitExceeded(DomainError):
    """A configured cap (MAX_LAYERS) would be passed."""

    status = 409
    code = "limit_exceeded"


class PayloadTooLarge(DomainError):
    """The body or upload is larger than the endpoint accepts."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """The body is not of a content type the endpoint accepts."""

    status = 415
    code = "unsupported_media_type"


class Unavailable(DomainError):
    """Redis or the broker cannot be reached; the client may retry."""

    status = 503
    code = "unavailable"


class StoreContention(Unavailable):
    """A mutation kept losing its compare-and-set race; retrying later will work."""
