"""Builds Redis clients with timeouts, so an unreachable Redis fails fast instead of hanging,
and, for processes that export metrics, clients that time every command."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline

from core.config import Settings

# Called with the command name (or PIPELINE / MULTI) and the seconds its round trip took.
CommandObserver = Callable[[str, float], None]


def connect(settings: Settings, *, read_timeout: float | None = None, binary: bool = False,
            observe: CommandObserver | None = None) -> redis.Redis:
    """A client for `settings.redis_url`; `read_timeout` overrides the socket timeout.

    Blocking reads (BLPOP) need a read timeout longer than what they wait for. A `binary`
    client returns bytes (for JPEG frames); the default decodes replies to str. With `observe`,
    every command and pipeline is timed, failed ones included.
    """
    client = (TimedRedis if observe else redis.Redis).from_url(
        settings.redis_url,
        password=settings.redis_password,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=read_timeout or settings.redis_timeout,
        health_check_interval=30,
        decode_responses=not binary,
    )
    if observe is not None:
        client.observe = observe  # type: ignore[attr-defined]
    return client


class TimedRedis(redis.Redis):
    """A client that reports each command's round trip to `observe`."""

    observe: CommandObserver

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run one command, timed."""
        started = time.perf_counter()
        try:
            # redis-py leaves execute_command untyped.
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        finally:
            self.observe(str(args[0]).upper(), time.perf_counter() - started)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """A pipeline whose `execute` is timed as one operation."""
        pipe = _TimedPipeline(self.connection_pool, self.response_callbacks, transaction,
                              shard_hint)
        pipe.observe = self.observe
        pipe.label = "MULTI" if transaction else "PIPELINE"
        return pipe


class _TimedPipeline(Pipeline):
    observe: CommandObserver
    label: str

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        started = time.perf_counter()
        try:
            return super().execute(raise_on_error)
        finally:
            self.observe(self.label, time.perf_counter() - started)


def broker_url(settings: Settings) -> str:
    """The Celery broker URL: the same Redis, with the password folded in when set apart."""
    if not settings.redis_password:
        return settings.redis_url
    scheme, sep, rest = settings.redis_url.partition("://")
    if "@" in rest:
        return settings.redis_url
    return f"{scheme}{sep}:{settings.redis_password}@{rest}"
