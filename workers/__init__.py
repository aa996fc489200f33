"""The Celery app and its tasks. Every state mutation runs here; imports `core` only."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from celery import Celery

from core.config import Settings
from core.redis_client import connect
from core.store import StateStore
from core.store.health import CHECKS
from core.tasks import broker_options, health_check_task


class StreamCelery(Celery):
    """A Celery app that knows the settings and builds the store on first use."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("stream_manager", include=["workers.tasks", "workers.outputs",
                                                   "workers.audio", "workers.show", "workers.cues"])
        self.settings = settings

    @cached_property
    def store(self) -> StateStore:
        """The state store the tasks write through (one Redis pool per process)."""
        return StateStore.from_settings(self.settings, connect(self.settings))


def health_schedule(interval: float) -> dict[str, dict[str, Any]]:
    """Every health check once per `interval` seconds; a check still queued a tick later is
    dropped unrun (the next one is on its way)."""
    return {
        f"health-{check}": {"task": health_check_task(check), "schedule": interval,
                            "options": {"expires": interval}}
        for check in CHECKS
    }


def create_celery_app(settings: Settings) -> StreamCelery:
    """Build the Celery app from celeryconfig plus `settings` (broker URL and key prefix)."""
    import celeryconfig

    app = StreamCelery(settings)
    app.config_from_object(celeryconfig)
    app.conf.update(
        **broker_options(settings),
        beat_schedule=health_schedule(settings.health_check_interval),
        # Ticks at least once an interval, so the beat lease is renewed in time.
        beat_max_loop_interval=settings.health_check_interval,
    )
    return app
