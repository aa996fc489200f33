"""RATE_LIMIT for changes: flask-limiter with its counters in Redis, so the limit holds across
every gunicorn worker and API host.

One budget per client address covers every mutating request together (POST, PATCH, DELETE
on any endpoint): "100/minute" means a client may change things 100 times a minute, whichever
endpoints it uses. Reads are never limited. Fixed windows starting at a client's first change
keep the count exact and cheap (one INCR). If Redis cannot be reached the request goes
through unlimited, and fails on its own with 503 if it needed Redis.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from app.auth import READ_METHODS
from app.errors import error_response
from core.config import Settings
from core.keys import Keys
from core.redis_client import broker_url


def init_rate_limit(app: Flask, settings: Settings) -> Limiter | None:
    """Limit mutating requests to RATE_LIMIT per client address; nothing when it is unset.

    Over the limit the answer is 429 JSON (app.errors) with Retry-After.
    """
    if not settings.rate_limit:
        return None
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=lambda: request.method in READ_METHODS,
        storage_uri=broker_url(settings),
        storage_options=dict[str, Any](socket_connect_timeout=settings.redis_timeout,
                                       socket_timeout=settings.redis_timeout),
        key_prefix=Keys(settings.redis_prefix).rate_limits,
        strategy="fixed-window",
        # Its headers would put Retry-After on every answer (a 202 included); the 429 below
        # carries it alone.
        headers_enabled=False,
        swallow_errors=True,
    )

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        # The storage keeps reset times in whole seconds, so right after a window opens the
        # reset can read a fraction over the window: never ask to wait longer than it.
        wait = 1 if current is None else max(1, min(math.ceil(current.reset_at - time.time()),
                                                    current.limit.get_expiry()))
        response = error_response(429, "rate_limited",
                                  f"more than {exc.description} changes; retry in {wait} s",
                                  limit=exc.description)
        response.headers["Retry-After"] = str(wait)
        return response

    return limiter
