"""Checks on a preview handshake, made before the upgrade so a refusal is a plain HTTP answer.

- It must be a WebSocket upgrade (426 otherwise) asking for a known quality and, with
  `?channel=` (default `default`), an existing channel (400 naming the parameter; whether a
  channel exists is told only to a client that passed the token check).
- The Origin, when the client sends one, must be allowed (403). Browsers always send it, so
  this stops another site's page from opening the preview with the operator's browser
  (cross-site WebSocket hijacking); a client that is not a browser sends none, or its own.
  PREVIEW_ORIGINS lists the allowed origins; by default the API's own origin (the host the
  client asked for, on PORT) and the preview's own are allowed.
- With API_TOKEN set, it must carry `Authorization: Bearer <API_TOKEN>` or `?ticket=` with a
  single-use ticket from `POST /preview/ticket` (401), since browsers cannot set headers on a
  WebSocket.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Request, Response, g

from app.channel_scope import CHANNEL_RULE
from app.errors import error_response
from app.tokens import bearer_role
from core.config import Settings
from core.keys import CHANNEL_ID_RE, DEFAULT_CHANNEL
from core.schemas.preview import QUALITIES
from core.store import LiveState

DEFAULT_QUALITY = "medium"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def refuse_handshake(request: Request, settings: Settings, live: LiveState,
                     output_size: Callable[[str], tuple[int, int] | None]) -> Response | None:
    """The refusal for this handshake, or None to let it upgrade (then `g.output_size` is the
    channel's output size; `output_size(channel)` says it, None for no such channel)."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        response = error_response(426, "upgrade_required",
                                  "this endpoint speaks WebSocket only", fields={
                                      "Upgrade": "must be websocket"})
        response.headers["Upgrade"] = "websocket"
        return response
    quality = request.args.get("quality", DEFAULT_QUALITY)
    if quality not in QUALITIES:
        return error_response(400, "validation_error", "unknown preview quality",
                              fields={"quality": f"must be one of {', '.join(QUALITIES)}"})
    channel = request.args.get("channel", DEFAULT_CHANNEL)
    if not CHANNEL_ID_RE.fullmatch(channel):
        return error_response(400, "validation_error", "not a channel id",
                              fields={"channel": CHANNEL_RULE})
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(origin, request.host, settings):
        return error_response(403, "forbidden", "this Origin may not open the preview",
                              fields={"Origin": f"{origin[:100]} is not allowed "
                                                "(PREVIEW_ORIGINS)"})
    if settings.api_token and not _authorized(request, settings, live):
        return error_response(401, "unauthorized",
                              "send Authorization: Bearer <API_TOKEN or VIEWER_TOKEN> or "
                              "?ticket= from POST /preview/ticket (single use)",
                              fields={"ticket": "missing, unknown, expired or already used"})
    size = output_size(channel)
    if size is None:
        return error_response(400, "validation_error", f"no channel {channel!r}",
                              fields={"channel": "unknown channel"})
    g.output_size = size
    return None


def origin_allowed(origin: str, host: str, settings: Settings) -> bool:
    """Whether a page served from `origin` may open the preview reached at `host`."""
    given = _origin_key(origin)
    if given is None:
        return False
    if settings.preview_origins:
        return given in {_origin_key(allowed) for allowed in settings.preview_origins}
    requested = _origin_key(f"http://{host}")
    if requested is None:
        return False
    hostname, port = requested[1], requested[2]
    return given[1] == hostname and given[2] in (settings.port, port)


def _authorized(request: Request, settings: Settings, live: LiveState) -> bool:
    """The operator's or a viewer's token, or a ticket either of them got."""
    if bearer_role(request.headers.get("Authorization", ""), settings.api_token,
                   settings.viewer_token) is not None:
        return True
    ticket = request.args.get("ticket", "")
    # Tickets are short URL-safe tokens; anything else is not worth a Redis round trip.
    return 0 < len(ticket) <= 128 and ticket.isascii() and live.redeem_ticket(ticket)


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """(scheme, hostname, port) with the default port filled in; None if it is no origin."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]
