"""Request body limits, enforced from the headers before a byte of the body is read.

A client that announces a large body and sends it slowly would otherwise hold a server thread
while a view waits for the rest. Every endpoint takes at most MAX_JSON_BYTES, except the views
marked `@takes_upload` (the media upload: the larger of MAX_UPLOAD_BYTES and
MAX_MEDIA_UPLOAD_BYTES, plus the multipart framing; which of the two applies depends on the
file's name, which is only known once the body is read, so the view checks that). A
Content-Length over the limit is answered 413 at once, without reading; a body sent without one
(chunked) is cut off at the limit as it is read (werkzeug's per-request max_content_length).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request

from core.config import Settings
from core.errors import PayloadTooLarge

# Multipart framing around an upload: headers and boundaries, well under this.
MULTIPART_SLACK = 64 * 1024

View = TypeVar("View", bound=Callable[..., Any])


def takes_upload(view: View) -> View:
    """Mark a view that reads an upload (MAX_UPLOAD_BYTES or MAX_MEDIA_UPLOAD_BYTES), not a
    JSON body."""
    view.takes_upload = True  # type: ignore[attr-defined]
    return view


def init_body_limits(app: Flask, settings: Settings) -> None:
    """Refuse, with 413 before reading it, any body over its endpoint's limit."""
    json_limit = settings.max_json_bytes
    upload_limit = max(settings.max_upload_bytes,
                       settings.max_media_upload_bytes) + MULTIPART_SLACK
    # What a request gets before routing has named its view (and if a hook reads early).
    app.config["MAX_CONTENT_LENGTH"] = json_limit

    @app.before_request
    def refuse_large_body() -> None:
        view = app.view_functions.get(request.endpoint or "")
        limit = upload_limit if getattr(view, "takes_upload", False) else json_limit
        # The stream stops one byte past the limit: werkzeug hands out bytes up to its cap
        # without complaint, so a reader could not tell a body cut at the limit from one that
        # just fits.
        request.max_content_length = limit + 1
        declared = request.content_length
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"bodies here are limited to {limit} bytes",
                                  {"body": f"too large: Content-Length is {declared}"})
