"""Entrypoint for `celery -A workers worker|beat|flower`: reads config, builds the app."""

import sys

from core.config import ConfigError, load_settings
from workers import create_celery_app

try:
    _settings = load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")

app = create_celery_app(_settings)
