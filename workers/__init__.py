"""The Celery app and its tasks. Every state mutation runs here; imports `core` only."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import redis
from celery import Celery

from core.config import Settings
from core.keys import DEFAULT_CHANNEL, Keys
from core.redis_client import connect
from core.store import StateStore
from core.store.channels import ChannelStore
from core.store.health import CHECKS
from core.store.migrate import migrate_to_channels
from core.tasks import broker_options, health_check_task


class StreamCelery(Celery):
    """A Celery app that knows the settings and builds each channel's store on first use."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("stream_manager", include=[
            "workers.tasks", "workers.outputs", "workers.audio", "workers.show",
            "workers.cues", "workers.channels"])
        self.settings = settings
        self._stores: dict[str, StateStore] = {}
        self._migrated = False

    @cached_property
    def redis(self) -> redis.Redis:
        """The Redis client every store of this process shares (one pool per process)."""
        return connect(self.settings)

    @cached_property
    def channels(self) -> ChannelStore:
        """The channel registry."""
        return ChannelStore(self.redis, Keys(self.settings.redis_prefix), self.settings)

    @property
    def store(self) -> StateStore:
        """The default channel's state store."""
        return self.store_for(DEFAULT_CHANNEL)

    def store_for(self, channel: str) -> StateStore:
        """Channel `channel`'s state store, built once per process (whether the channel
        exists is the caller's to ask: workers.tasks.store_of)."""
        found = self._stores.get(channel)
        if found is None:
            found = self._stores[channel] = StateStore.from_settings(
                self.settings, self.redis, channel=channel)
        return found

    def migrate(self) -> None:
        """Move a deployment from before channels under channel `default`
        (core.store.migrate), once per process; until Redis answers, every task asks again
        first, so none writes under the new names while old ones wait to be moved."""
        if self._migrated:
            return
        # Its own client: the worker's main process migrates before it forks its children.
        client = connect(self.settings)
        try:
            migrate_to_channels(client, Keys(self.settings.redis_prefix))
        finally:
            client.close()
        self._migrated = True


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
