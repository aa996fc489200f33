"""Counts the publishers an nginx-rtmp ingest lets in: it POSTs every publish's start
(`call=publish`) and end (`call=publish_done`) to this small HTTP server (its `on_publish`
and `on_publish_done` notifications, see tests.support.nginx_rtmp), which answers 200 to let
it through and keeps what it was told::

    log = PublishLog().start()
    server = NginxRtmp(tmp_path, notify_url=log.url).start()
    log.calls("key")   # [PublishCall(at, "publish", "key", "12"), ...]
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class PublishCall:
    """One notification: when it came (time.monotonic), publish or publish_done, the stream
    name and nginx's id of the client connection."""

    at: float
    call: str
    name: str
    client: str


class PublishLog:
    """An HTTP server on a free port of 127.0.0.1 that records nginx-rtmp's notifications."""

    def __init__(self) -> None:
        self._calls: list[PublishCall] = []
        self._lock = threading.Lock()
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                log.record(PublishCall(time.monotonic(), form.get("call", [""])[0],
                                       form.get("name", [""])[0],
                                       form.get("clientid", [""])[0]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="publish-log",
                                        daemon=True)

    @property
    def url(self) -> str:
        """Where nginx-rtmp sends its notifications."""
        return f"http://127.0.0.1:{self._server.server_port}/notify"

    def start(self) -> PublishLog:
        """Serve in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def record(self, call: PublishCall) -> None:
        """Keep one notification (the handler's)."""
        with self._lock:
            self._calls.append(call)

    def calls(self, name: str, since: float = 0.0) -> list[PublishCall]:
        """The notifications of stream `name` that came at or after `since`."""
        with self._lock:
            return [call for call in self._calls if call.name == name and call.at >= since]
