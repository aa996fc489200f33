"""The admin page: one HTML page and plain ES modules, served by the API process at `/`.

No build step: the modules under static/ are what the browser runs. The page learns its
settings (poll interval, retries, the preview's port) from a JSON block in the HTML; nothing
secret is in it, so `/` and `/ui/` are served without the API token, and the page asks the
operator for the token when the API answers 401. `/ui-session` (behind the token like the API)
tells the page the role its token has, so a viewer's page hides what it may not change.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, g, jsonify, send_from_directory

from app.services import services
from app.tokens import OPERATOR

STATIC = Path(__file__).resolve().parent / "static"
blueprint = Blueprint("ui", __name__)

# The page loads only its own modules; the preview WebSocket is on another port of the same
# host, which CSP cannot name without knowing the host, so connect-src allows ws: and wss:.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' blob: data:; "
                           "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; "
                           "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


@blueprint.get("/")
def index() -> Response:
    """The admin page, with the settings it needs."""
    settings = services().settings
    config = json.dumps({
        "pollInterval": settings.poll_interval, "maxRetries": settings.max_retries,
        "wsPort": settings.ws_port, "previewFps": settings.preview_fps,
        "outputWidth": settings.output_width, "outputHeight": settings.output_height,
        "targetFps": settings.render_fps, "videoBitrate": settings.video_bitrate,
        # Listening where other machines reach it with no token (ALLOW_NO_TOKEN): say so.
        "openWithoutToken": settings.open_without_token,
    }).replace("<", "\\u003c")
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{config}}", config)
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blueprint.get("/ui/<path:name>")
def asset(name: str) -> Response:
    """A module or stylesheet of the page."""
    response = send_from_directory(STATIC, name, max_age=0)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@blueprint.get("/ui-session")
def session() -> Response:
    """`{"role": "operator" | "viewer"}`: what the page's token may do (the operator's role when
    no API_TOKEN is set). Not under /ui/, so the API's token check answers it first."""
    response = jsonify({"role": g.get("role", OPERATOR)})
    response.headers["Cache-Control"] = "no-store"
    return response
