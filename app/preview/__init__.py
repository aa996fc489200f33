"""The WebSocket preview process: fan-out of the render worker's JPEG frames to browsers.

`create_preview_app` builds a Flask app serving `/preview?channel=` (flask-sock), `/health`
and `/metrics`. It starts its threads (per channel watched, app.preview.channels: the frame
hub's listeners on demand, the roster, the state feed and the audio levels relay) in the
process that calls it, so gunicorn must build it in each worker (no --preload). Run it with
threads: every client holds one of gunicorn's threads for as long as it is connected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask_sock import Sock
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.errors import register_error_handlers
from app.migration import Migration
from app.placements import Placements
from app.preview.channels import ChannelPreview, ChannelPreviews
from app.preview.feed import BLOCK_MS, StateFeed
from app.preview.handshake import DEFAULT_QUALITY, refuse_handshake
from app.preview.hub import FrameHub
from app.preview.levels import LevelsRelay
from app.preview.metrics import PreviewMetrics
from app.preview.roster import Roster
from app.preview.session import PreviewContext, PreviewSession
from core.channels import ChannelOutput, effective_output
from core.config import Settings, load_settings
from core.errors import NotFound
from core.keys import DEFAULT_CHANNEL, Keys
from core.redis_client import connect
from core.store import StateStore
from core.store.channels import ChannelStore
from core.store.placement import PlacementStore

# Client messages are a few dozen bytes; anything longer is closed with 1009.
MAX_CLIENT_MESSAGE_BYTES = 4096
PREVIEW_EXTENSION = "stream_manager_preview"


def create_preview_app(settings: Settings | None = None) -> Flask:
    """Build the preview app and start its threads (the default channel's; another channel's
    start with its first client)."""
    settings = settings or load_settings()
    client = connect(settings)
    feed_client = connect(settings, read_timeout=BLOCK_MS / 1000 + settings.redis_timeout)
    binary = connect(settings, binary=True)
    keys = Keys(settings.redis_prefix)
    migration = Migration(client, keys)
    registry = ChannelStore(client, keys, settings)
    placements = Placements(PlacementStore(client, keys))
    store = StateStore.from_settings(settings, client)

    def output(channel: str) -> ChannelOutput | None:
        """The channel's output settings; None if there is no such channel."""
        migration.ensure()  # nothing is read under a channel's scope before the keys moved
        try:
            return effective_output(registry.get(channel), settings)
        except NotFound:
            return None

    def build(channel: str) -> ChannelPreview:
        channel_keys = keys.for_channel(channel)
        channel_store = StateStore.from_settings(settings, client, channel=channel)
        roster = Roster(channel_store.live, settings.preview_pong_timeout)

        def read_status() -> dict[str, Any] | None:
            found = output(channel)
            return None if found is None else placements.status(channel_store, found.fps)

        feed = StateFeed(StateStore.from_settings(settings, feed_client, channel=channel),
                         roster, read_status)
        return ChannelPreview(channel, FrameHub(binary, channel_keys), roster, feed,
                              LevelsRelay(binary, channel_keys, roster))

    def output_size(channel: str) -> tuple[int, int] | None:
        found = output(channel)
        return None if found is None else (found.width, found.height)

    previews = ChannelPreviews(build)
    metrics = PreviewMetrics(previews.counts)
    context = PreviewContext(
        hub=previews.default.hub, roster=previews.default.roster,
        output_size=(settings.output_width, settings.output_height),
        fps=settings.preview_fps, ping_interval=settings.preview_ping_interval,
        pong_timeout=settings.preview_pong_timeout,
        initial_state=lambda: previews.default.feed.state, metrics=metrics)

    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": MAX_CLIENT_MESSAGE_BYTES}
    register_error_handlers(app)
    sock = Sock(app)

    @app.before_request
    def check_handshake() -> Response | None:
        if request.path != "/preview":
            return None
        # Frames are JPEG, which deflate cannot shrink: compressing them for every client
        # would only burn CPU, so permessage-deflate is never negotiated.
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return refuse_handshake(request, settings, store.live, output_size)

    @sock.route("/preview")
    def preview(ws) -> None:  # noqa: ANN001 - simple_websocket.Server
        channel = request.args.get("channel", DEFAULT_CHANNEL)
        with previews.watching(channel) as watched:
            PreviewSession(ws, replace(
                context, hub=watched.hub, roster=watched.roster, output_size=g.output_size,
                initial_state=lambda: watched.feed.state,
            ), request.args.get("quality", DEFAULT_QUALITY)).run()

    @app.get("/health")
    def health() -> Response:
        """200 while Redis answers (503 otherwise), with the clients per quality."""
        store.ping()
        return jsonify({"status": "ok", "clients": previews.counts()})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        """Prometheus text: clients by quality, frames sent and skipped."""
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)

    app.extensions[PREVIEW_EXTENSION] = previews.stop
    return app


def stop_preview_threads(app: Flask) -> None:
    """Stop the threads `create_preview_app` started (tests call it). A gunicorn worker does
    not: its threads are daemons, and a hook that joined them on exit delayed the restart of a
    preview whose master was killed (the orphaned worker held the port while it waited)."""
    app.extensions[PREVIEW_EXTENSION]()
