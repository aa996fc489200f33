"""Entrypoints for gunicorn: `wsgi:api()` builds the HTTP API, `wsgi:preview()` the WebSocket
preview. Importing reads the configuration and sets up logging, so a bad value stops the
process at once with a one-line message naming the variable: HOST on an address other machines
can reach, with no API_TOKEN and no ALLOW_NO_TOKEN=yes, is such a value."""

import logging
import sys

from flask import Flask

from app import create_app
from app.preview import create_preview_app
from core.config import ConfigError, Settings, configure_logging, load_settings, with_api_token

log = logging.getLogger("wsgi")

try:
    _loaded = load_settings()
    _settings = with_api_token(_loaded)
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")

configure_logging(_settings)


def _say_who_may_connect(settings: Settings) -> None:
    if settings.open_without_token:
        log.warning("HOST %s can be reached from other machines and no API_TOKEN is set "
                    "(ALLOW_NO_TOKEN=yes): anyone who reaches it can change the stream",
                    settings.host)
    elif _loaded.api_token is None and settings.api_token is not None:
        # Where the token is, never what it is.
        log.info("API_TOKEN is not set: the token is the one kept in %s",
                 settings.api_token_file)


def api() -> Flask:
    """The admin HTTP API (`gunicorn 'wsgi:api()'`)."""
    _say_who_may_connect(_settings)
    return create_app(_settings)


def preview() -> Flask:
    """The WebSocket preview (`gunicorn 'wsgi:preview()'`, one worker with many threads)."""
    _say_who_may_connect(_settings)
    return create_preview_app(_settings)
