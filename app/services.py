"""The objects the API works with, built once per app by the factory."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery
from flask import current_app

import celeryconfig
from app.channel_scope import request_channel
from app.placements import Placements
from core.commit import Outcome
from core.config import Settings
from core.store import StateStore
from core.store.channels import ChannelStore
from core.tasks import broker_options


def create_sender(settings: Settings) -> Celery:
    """A Celery app that only sends tasks by name (core.tasks): celeryconfig's routes,
    serializer and publish retry policy, the broker from `settings`, and none of the worker."""
    sender = Celery("stream_manager_api", set_as_current=False)
    sender.config_from_object(celeryconfig)
    sender.conf.update(broker_options(settings))
    return sender


class CommandBus:
    """Sends a mutation to the `control` queue and waits briefly for its outcome.

    Every task goes with `channel`, the request's channel (app.channel_scope).

    The worker pushes the outcome to a reply list the API BLPOPs. Only when the wait times
    out is the command recorded as pending (SET NX: a late outcome is never overwritten), so
    a client told 202 can follow it, and the usual path costs no extra round trip.
    """

    def __init__(self, store: StateStore, celery: Celery, blocking: redis.Redis,
                 timeout: float) -> None:
        self._store = store
        self._celery = celery
        self.blocking = blocking
        self._timeout = timeout

    def run(self, task_name: str, shown: Mapping[str, Any] | None = None,
            **kwargs: Any) -> tuple[str, Outcome | None]:
        """Send `task_name` and wait up to the command timeout; None means still pending.

        `shown` replaces arguments holding secrets in what Celery logs and Flower shows.
        """
        command_id = uuid.uuid4().hex
        arguments = {"command_id": command_id, "channel": request_channel(), **kwargs}
        self._celery.send_task(task_name, kwargs=arguments,
                               kwargsrepr=repr({**arguments, **shown}) if shown else None)
        outcome = self._store.wait_for_outcome(self.blocking, command_id, self._timeout)
        if outcome is None:
            self._store.mark_pending(command_id)
        return command_id, outcome


class ChannelStores:
    """One StateStore per channel, built when a request first needs it and kept for the
    process's life; they share one Redis client (a store holds no state of its own)."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._client = client
        self._lock = threading.Lock()
        self._stores: dict[str, StateStore] = {}

    def get(self, channel: str) -> StateStore:
        """The store of `channel` (which the caller has checked exists)."""
        found = self._stores.get(channel)
        if found is None:
            with self._lock:
                found = self._stores.get(channel)
                if found is None:
                    found = StateStore.from_settings(self._settings, self._client,
                                                     channel=channel)
                    self._stores[channel] = found
        return found

    def close(self) -> None:
        """Close the shared client."""
        self._client.close()


@dataclass
class Services:
    """Everything a view needs; reached through `services()`."""

    settings: Settings
    stores: ChannelStores
    channels: ChannelStore
    placement: Placements
    bus: CommandBus
    celery: Celery

    @property
    def store(self) -> StateStore:
        """The store of the request's channel (the default channel's outside a request)."""
        return self.stores.get(request_channel())

    def close(self) -> None:
        """Release connections (the process normally just exits; tests build many apps)."""
        self.celery.close()
        self.bus.blocking.close()
        self.stores.close()


def services() -> Services:
    """The services of the app handling the current request."""
    found: Services = current_app.extensions["stream_manager"]
    return found
