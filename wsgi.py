"""Entrypoints for gunicorn: `wsgi:api()` builds the HTTP API, `wsgi:preview()` the WebSocket
preview. Importing reads the configuration and sets up logging, so a bad value stops the
process at once with a one-line message naming the variable."""

import sys

from flask import Flask

from app import create_app
from app.preview import create_preview_app
from core.config import ConfigError, configure_logging, load_settings

try:
    _settings = load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")

configure_logging(_settings)


def api() -> Flask:
    """The admin HTTP API (`gunicorn 'wsgi:api()'`)."""
    return create_app(_settings)


def preview() -> Flask:
    """The WebSocket preview (`gunicorn 'wsgi:preview()'`, one worker with many threads)."""
    return create_preview_app(_settings)
