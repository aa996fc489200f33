"""Builds Redis clients with timeouts, so an unreachable Redis fails fast instead of hanging."""

from __future__ import annotations

import redis

from core.config import Settings


def connect(settings: Settings, *, read_timeout: float | None = None,
            binary: bool = False) -> redis.Redis:
    """A client for `settings.redis_url`; `read_timeout` overrides the socket timeout.

    Blocking reads (BLPOP) need a read timeout longer than what they wait for. A `binary`
    client returns bytes (for JPEG frames); the default decodes replies to str.
    """
    return redis.Redis.from_url(
        settings.redis_url,
        password=settings.redis_password,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=read_timeout or settings.redis_timeout,
        health_check_interval=30,
        decode_responses=not binary,
    )


def broker_url(settings: Settings) -> str:
    """The Celery broker URL: the same Redis, with the password folded in when set apart."""
    if not settings.redis_password:
        return settings.redis_url
    scheme, sep, rest = settings.redis_url.partition("://")
    if "@" in rest:
        return settings.redis_url
    return f"{scheme}{sep}:{settings.redis_password}@{rest}"
