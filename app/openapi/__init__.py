"""`GET /openapi.json` (the OpenAPI 3.1 document, generated from the routes and marshmallow
schemas) and `GET /docs` (the same as an HTML page). Both are open: they hold no data.

The document describes the app's routes, so it is built on the first request, once the app has
all its blueprints, and kept for the life of the app.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from app.openapi.docs import CONTENT_SECURITY_POLICY, render_docs
from app.openapi.spec import build_spec
from app.services import services

blueprint = Blueprint("openapi", __name__, template_folder="templates")
_EXTENSION = "openapi"
_lock = threading.Lock()


@blueprint.get("/openapi.json")
def spec() -> Response:
    """This API's OpenAPI 3.1 document, with the preview WebSocket protocol in `x-websocket`."""
    response = jsonify(_built(current_app._get_current_object())["spec"])  # type: ignore[attr-defined]
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/docs")
def docs() -> Response:
    """The OpenAPI document as a web page: every operation, schema and the WebSocket preview."""
    page = _built(current_app._get_current_object())["docs"]  # type: ignore[attr-defined]
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _built(app: Flask) -> dict[str, Any]:
    """The document and its page, built once per app."""
    found: dict[str, Any] | None = app.extensions.get(_EXTENSION)
    if found is None:
        with _lock:
            found = app.extensions.get(_EXTENSION)
            if found is None:
                document = build_spec(app, services().settings)
                found = {"spec": document, "docs": render_docs(document)}
                app.extensions[_EXTENSION] = found
    return found
