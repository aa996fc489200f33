"""The Flask app factory: the admin HTTP API and the admin page."""

from __future__ import annotations

import redis
from celery import Celery
from flask import Flask

from app import ui
from app.api import register_blueprints
from app.auth import init_auth
from app.body_limits import init_body_limits
from app.errors import register_error_handlers
from app.metrics import ApiMetrics
from app.migration import Migration
from app.placements import Placements
from app.ratelimit import init_rate_limit
from app.services import ChannelStores, CommandBus, Services, create_sender
from core.config import Settings, load_settings
from core.keys import DEFAULT_CHANNEL, Keys
from core.redis_client import connect
from core.store.channels import ChannelStore
from core.store.placement import PlacementStore


def create_app(settings: Settings | None = None, *, redis_client: redis.Redis | None = None,
               celery: Celery | None = None) -> Flask:
    """Build the API app; tests pass their own settings, Redis client or Celery app."""
    settings = settings or load_settings()
    metrics = ApiMetrics()
    client = redis_client or connect(settings, observe=metrics.observe_redis)
    blocking = connect(settings, read_timeout=settings.command_timeout + settings.redis_timeout)
    keys = Keys(settings.redis_prefix)
    migration = Migration(client, keys)
    stores = ChannelStores(settings, client)
    celery = celery or create_sender(settings)

    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["stream_manager"] = Services(
        settings=settings, stores=stores, channels=ChannelStore(client, keys, settings),
        placement=Placements(PlacementStore(client, keys)), celery=celery,
        bus=CommandBus(stores.get(DEFAULT_CHANNEL), celery, blocking, settings.command_timeout),
    )
    metrics.instrument(app)
    app.before_request(migration.ensure)
    register_error_handlers(app)
    init_body_limits(app, settings)
    init_auth(app, settings.api_token, settings.viewer_token)
    init_rate_limit(app, settings)
    register_blueprints(app)
    app.register_blueprint(ui.blueprint)
    return app
