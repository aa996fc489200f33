"""The Celery app and its tasks. Every state mutation runs here; imports `core` only."""

from __future__ import annotations

from functools import cached_property

from celery import Celery

from core.config import Settings
from core.keys import Keys
from core.redis_client import broker_url, connect
from core.store import StateStore


class StreamCelery(Celery):
    """A Celery app that knows the settings and builds the store on first use."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("stream_manager", include=["workers.tasks"])
        self.settings = settings

    @cached_property
    def store(self) -> StateStore:
        """The state store the tasks write through (one Redis pool per process)."""
        return StateStore.from_settings(self.settings, connect(self.settings))


def create_celery_app(settings: Settings) -> StreamCelery:
    """Build the Celery app from celeryconfig plus `settings` (broker URL and key prefix)."""
    import celeryconfig

    app = StreamCelery(settings)
    app.config_from_object(celeryconfig)
    app.conf.update(
        broker_url=broker_url(settings),
        broker_transport_options={
            "global_keyprefix": Keys(settings.redis_prefix).celery,
            "visibility_timeout": celeryconfig.BROKER_VISIBILITY_TIMEOUT,
            "socket_connect_timeout": settings.redis_timeout,
            "socket_timeout": max(settings.redis_timeout, 5.0),
        },
    )
    return app
