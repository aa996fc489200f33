"""Bearer-token authentication for every endpoint but /health and the admin page's own files,
when API_TOKEN is set."""

from __future__ import annotations

import hmac

from flask import Flask, Response, request

from app.errors import error_response

OPEN_PATHS = frozenset({"/health", "/"})
# The admin page's modules: public code, no data (the page asks for the token itself).
OPEN_PREFIX = "/ui/"


def init_auth(app: Flask, api_token: str | None) -> None:
    """Require `Authorization: Bearer <api_token>` on every request but OPEN_PATHS."""
    if not api_token:
        return
    expected = api_token.encode()

    @app.before_request
    def require_token() -> Response | None:
        if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIX):
            return None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
            return None
        response = error_response(401, "unauthorized", "send Authorization: Bearer <API_TOKEN>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="stream-manager"'
        return response
