"""Entrypoint for `celery -A workers worker|beat|flower`: reads config, builds the app."""

import logging
import sys
from typing import Any

import redis
from celery.signals import worker_init

from core.config import ConfigError, load_settings
from workers import create_celery_app

# A line per task received and succeeded is noise at hundreds of commands a second;
# failures and retries are still logged at WARNING and above.
for _name in ("celery.app.trace", "celery.worker.strategy"):
    logging.getLogger(_name).setLevel(logging.WARNING)

try:
    _settings = load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")

app = create_celery_app(_settings)


@worker_init.connect
def _migrate(**kwargs: Any) -> None:
    """Move a deployment from before channels into channel `default` as the worker starts
    (each task asks again first while this could not be done)."""
    try:
        app.migrate()
    except redis.RedisError as exc:
        logging.getLogger(__name__).warning("key layout not checked at start (%s); the "
                                            "first task checks it", exc)
