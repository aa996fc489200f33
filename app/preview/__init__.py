"""The WebSocket preview process: fan-out of the render worker's JPEG frames to browsers.

`create_preview_app` builds a Flask app serving `/preview` (flask-sock), `/health` and
`/metrics`. It starts its threads (the frame hub's listeners on demand, the roster, the state
feed and the audio levels relay) in the process that calls it, so gunicorn must build it in
each worker (no --preload). Run it with threads: every client holds one of gunicorn's threads
for as long as it is connected.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask_sock import Sock
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.errors import register_error_handlers
from app.preview.feed import BLOCK_MS, StateFeed
from app.preview.handshake import DEFAULT_QUALITY, refuse_handshake
from app.preview.hub import FrameHub
from app.preview.levels import LevelsRelay
from app.preview.metrics import PreviewMetrics
from app.preview.roster import Roster
from app.preview.session import PreviewContext, PreviewSession
from core.config import Settings, load_settings
from core.redis_client import connect
from core.store import StateStore

# Client messages are a few dozen bytes; anything longer is closed with 1009.
MAX_CLIENT_MESSAGE_BYTES = 4096
PREVIEW_EXTENSION = "stream_manager_preview"


def create_preview_app(settings: Settings | None = None) -> Flask:
    """Build the preview app and start its threads."""
    settings = settings or load_settings()
    store = StateStore.from_settings(settings, connect(settings))
    feed_store = StateStore.from_settings(
        settings, connect(settings, read_timeout=BLOCK_MS / 1000 + settings.redis_timeout))
    binary = connect(settings, binary=True)
    hub = FrameHub(binary, store.keys)
    roster = Roster(store.live, settings.preview_pong_timeout)
    levels = LevelsRelay(binary, store.keys, roster)
    feed = StateFeed(feed_store, settings.render_fps, roster)
    metrics = PreviewMetrics(roster.counts)
    context = PreviewContext(
        hub=hub, roster=roster, output_size=(settings.output_width, settings.output_height),
        fps=settings.preview_fps, ping_interval=settings.preview_ping_interval,
        pong_timeout=settings.preview_pong_timeout, initial_state=lambda: feed.state,
        metrics=metrics)

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
        return refuse_handshake(request, settings, store.live)

    @sock.route("/preview")
    def preview(ws) -> None:  # noqa: ANN001 - simple_websocket.Server
        PreviewSession(ws, context, request.args.get("quality", DEFAULT_QUALITY)).run()

    @app.get("/health")
    def health() -> Response:
        """200 while Redis answers (503 otherwise), with the clients per quality."""
        store.ping()
        return jsonify({"status": "ok", "clients": roster.counts()})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        """Prometheus text: clients by quality, frames sent and skipped."""
        return Response(generate_latest(metrics.registry), content_type=CONTENT_TYPE_LATEST)

    def stop_threads() -> None:
        levels.stop()
        feed.stop()
        roster.stop()
        hub.stop()

    app.extensions[PREVIEW_EXTENSION] = stop_threads
    roster.start()
    feed.start()
    levels.start()
    return app


def stop_preview_threads(app: Flask) -> None:
    """Stop the threads `create_preview_app` started (tests call it). A gunicorn worker does
    not: its threads are daemons, and a hook that joined them on exit delayed the restart of a
    preview whose master was killed (the orphaned worker held the port while it waited)."""
    app.extensions[PREVIEW_EXTENSION]()
