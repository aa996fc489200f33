"""Bearer-token authentication, when API_TOKEN is set: every endpoint but /health, the API
description and the admin page's own files needs a token. The operator's API_TOKEN may do
anything; the optional VIEWER_TOKEN may read (status, layers, chat, media, the preview) and
change nothing: a mutation with it is 403."""

from __future__ import annotations

from flask import Flask, Response, g, request

from app.errors import error_response
from app.tokens import OPERATOR, VIEWER, bearer_role
from core.show import Actor

OPEN_PATHS = frozenset({"/health", "/", "/openapi.json", "/docs"})
# The admin page's modules: public code, no data (the page asks for the token itself).
OPEN_PREFIX = "/ui/"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Not a change to anything: a viewer needs a ticket to watch the preview.
VIEWER_MAY_POST = frozenset({"/preview/ticket"})


def init_auth(app: Flask, api_token: str | None, viewer_token: str | None = None) -> None:
    """Require a bearer token on every request but OPEN_PATHS; a viewer's only reads."""
    if not api_token:
        return

    @app.before_request
    def require_token() -> Response | None:
        if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIX):
            return None
        role = bearer_role(request.headers.get("Authorization", ""), api_token, viewer_token)
        if role is None:
            response = error_response(401, "unauthorized",
                                      "send Authorization: Bearer <API_TOKEN>",
                                      fields={"Authorization": "missing or wrong token"})
            response.headers["WWW-Authenticate"] = 'Bearer realm="stream-manager"'
            return response
        g.role = role
        if (role == VIEWER and request.method not in READ_METHODS
                and request.path not in VIEWER_MAY_POST):
            return error_response(403, "forbidden", "the viewer token can only read",
                                  fields={"Authorization": "read-only token"})
        return None


def request_actor() -> Actor:
    """Who the history says made the current request's change: the API, in the role its
    token gave (the operator's, when no token is configured)."""
    return Actor("api", g.get("role", OPERATOR))
