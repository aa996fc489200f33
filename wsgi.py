"""Entrypoint for gunicorn (`gunicorn wsgi:app`): reads config, sets up logging, builds the app."""

import sys

from app import create_app
from core.config import ConfigError, configure_logging, load_settings

try:
    _settings = load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")

configure_logging(_settings)
app = create_app(_settings)
