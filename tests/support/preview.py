"""The real preview process (its supervisord command, on a free port), WebSocket clients that
read it in the background, and a direct subscriber counting the frames of one quality's Redis
channel, for tests and the preview benchmark."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import redis
import requests
import websocket

from core.config import Settings
from core.keys import Keys
from tests.support.processes import Process, free_port, wait_until
from tests.support.supervisord import supervisord_argv, supervisord_programs

ROOT = Path(__file__).resolve().parents[2]


class PreviewServer:
    """`[program:preview]` of supervisord.conf (gunicorn, gthread) on a free port."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "HOST": "127.0.0.1", **env, "WS_PORT": str(self.port)}
        self.log = workdir / f"preview-{self.port}.log"
        self._process: Process | None = None

    def start(self) -> PreviewServer:
        """Start it and wait until its /health answers."""
        argv = supervisord_argv("preview", supervisord_programs()["preview"], self.env)
        assert argv[0] == "gunicorn"
        argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
        self._process = Process(argv, self.log, env=self.env, cwd=ROOT).start()
        try:
            wait_until(lambda: requests.get(f"{self.http}/health", timeout=1).ok, 30,
                       "the preview process")
        except TimeoutError:
            raise TimeoutError(f"the preview did not start:\n{self._process.tail()}") from None
        return self

    @property
    def http(self) -> str:
        """Base HTTP URL."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, **params: str) -> str:
        """ws:// URL of /preview with `params` in the query."""
        query = f"?{urlencode(params)}" if params else ""
        return f"ws://127.0.0.1:{self.port}/preview{query}"

    def worker_pid(self) -> int:
        """The pid of gunicorn's (only) worker process, which serves the clients."""
        assert self._process is not None and self._process.popen is not None
        master = self._process.popen.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def rss_kib(self) -> int:
        """Resident memory of the worker process, KiB."""
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def tail(self) -> str:
        """The end of its log."""
        return self._process.tail() if self._process else ""

    def stop(self) -> None:
        """SIGTERM, as supervisord stops it."""
        if self._process is not None:
            self._process.stop(timeout=15)


# How many of the first things received are recorded in order ("text" or "binary").
FIRST_KINDS = 20


@dataclass
class Received:
    """What a client has received so far. Each message gets `receivedAt` (monotonic)."""

    first_kinds: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    frame_times: list[float] = field(default_factory=list)
    frames_kept: list[bytes] = field(default_factory=list)
    last_frame: bytes | None = None
    close: tuple[int, str] | None = None


class PreviewClient:
    """A WebSocket client reading in its own thread; it answers the server's pings (unless
    told not to) and records messages, frame arrival times and the close code."""

    def __init__(self, url: str, *, origin: str | None = None, token: str | None = None,
                 answer_pings: bool = True, keep_frames: bool = False,
                 on_frame: Callable[[bytes, float], None] | None = None) -> None:
        header = [f"Authorization: Bearer {token}"] if token else None
        self.ws = websocket.create_connection(url, timeout=10, origin=origin, header=header,
                                              suppress_origin=origin is None)
        self.ws.settimeout(None)  # the reader waits as long as the connection lasts
        self.received = Received()
        self._answer_pings = answer_pings
        self._keep_frames = keep_frames
        self._on_frame = on_frame
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        """Send a message (a dict as JSON text)."""
        if isinstance(message, bytes):
            self.ws.send_binary(message)
        else:
            self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Text messages received so far (of one type if given)."""
        with self._lock:
            found = list(self.received.messages)
        return [each for each in found if kind is None or each["type"] == kind]

    def wait_for(self, kind: str, timeout: float = 10,
                 where: Callable[[dict[str, Any]], bool] = lambda _m: True) -> dict[str, Any]:
        """The first message of `kind` matching `where`, waiting up to `timeout`."""
        return wait_until(lambda: next((m for m in self.messages(kind) if where(m)), None),
                          timeout, f"a {kind} message")

    def frames_between(self, start: float, end: float) -> int:
        """How many frames arrived between two `time.monotonic()` readings."""
        with self._lock:
            return sum(1 for at in self.received.frame_times if start <= at < end)

    def wait_for_close(self, timeout: float = 10) -> tuple[int, str]:
        """The close code and reason the server sent (1006 if the socket just ended)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the server did not close the connection"
        return self.received.close or (1006, "")

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return not self._thread.is_alive()

    def close(self) -> None:
        """Close from this side: a close frame, the server's answer, then the socket."""
        try:
            self.ws.send_close()
        except (OSError, websocket.WebSocketException):
            pass
        self._thread.join(2)
        self.ws.shutdown()

    def _read(self) -> None:
        try:
            while True:
                opcode, data = self.ws.recv_data(control_frame=True)
                now = time.monotonic()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                    self.received.close = (code, data[2:].decode(errors="replace"))
                    return
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    self._frame(data, now)
                elif opcode == websocket.ABNF.OPCODE_TEXT:
                    self._text(json.loads(data), now)
        except (OSError, websocket.WebSocketException):
            return

    def _frame(self, data: bytes, now: float) -> None:
        with self._lock:
            self._first("binary")
            self.received.frame_times.append(now)
            self.received.last_frame = data
            if self._keep_frames:
                self.received.frames_kept.append(data)
        if self._on_frame is not None:
            self._on_frame(data, time.time())

    def _text(self, message: dict[str, Any], now: float) -> None:
        with self._lock:
            self._first("text")
            self.received.messages.append({**message, "receivedAt": now})
        if message["type"] == "ping" and self._answer_pings:
            self.send({"type": "pong"})

    def _first(self, kind: str) -> None:
        if len(self.received.first_kinds) < FIRST_KINDS:
            self.received.first_kinds.append(kind)


class ChannelCounter:
    """Counts the frames published on one quality's Redis channel, as a direct subscriber."""

    def __init__(self, settings: Settings, quality: str) -> None:
        self._client = redis.Redis.from_url(settings.redis_url)
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(Keys(settings.redis_prefix).preview_frames(quality))
        self.count = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ChannelCounter:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        self._thread.join(2)
        self._pubsub.close()
        self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            message = self._pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                self.count += 1


def stalled_client(url: str) -> websocket.WebSocket:
    """A client that completes the handshake and then never reads: a tiny receive buffer, so
    the server's writes to it block almost at once."""
    return websocket.create_connection(
        url, timeout=10, suppress_origin=True,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
