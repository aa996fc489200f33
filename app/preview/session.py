"""One preview client, from hello to goodbye.

Two threads per client besides simple-websocket's own reader: the request's thread sends
(whatever the outbox gives, and a ping every PREVIEW_PING_INTERVAL), and a receiver thread
handles what the client sends. A client that breaks the protocol is closed with the close code
that says why (1003 binary, 1008 anything else; simple-websocket itself answers an oversized
message with 1009). Nothing a client does reaches another client.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate
from simple_websocket import ConnectionClosed, Server
from wsproto.utilities import LocalProtocolError

from app.preview.feed import message
from app.preview.hub import FrameHub
from app.preview.metrics import PreviewMetrics
from app.preview.outbox import Outbox
from app.preview.roster import Roster
from core.preview_frames import preview_size
from core.schemas.preview import QUALITIES
from core.store import now_ms

log = logging.getLogger(__name__)

CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
# RFC 6455 close reasons must fit a control frame (125 bytes, 2 of them the code).
MAX_REASON_BYTES = 123


class _ClientMessageSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(("ping", "pong", "quality")))
    quality = fields.String(validate=validate.OneOf(QUALITIES))


_client_message = _ClientMessageSchema()


class ProtocolViolation(Exception):
    """A client message the protocol does not allow; closes that client's connection."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


@dataclass(frozen=True)
class PreviewContext:
    """What every session of one preview process shares."""

    hub: FrameHub
    roster: Roster
    output_size: tuple[int, int]
    fps: int
    ping_interval: float
    pong_timeout: float
    initial_state: Callable[[], str | None]  # the last streamState message, if any
    metrics: PreviewMetrics


class _SerialSocket:
    """The connection's socket, with writes serialised and complete.

    simple-websocket writes from two threads (ours, and its reader answering pings and
    closes) with a bare `send`, which may interleave or send only part of a frame; every
    write here takes the lock and uses `sendall`.
    """

    def __init__(self, sock: socket.socket, lock: threading.RLock) -> None:
        self._sock = sock
        self._lock = lock

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class PreviewSession:
    """A connected client: its outbox, quality and pong deadline."""

    def __init__(self, ws: Server, context: PreviewContext, quality: str) -> None:
        self.client_id = uuid.uuid4().hex
        self.outbox = Outbox(quality, on_skip=context.metrics.frame_skipped)
        self._ws = ws
        self._context = context
        self._write_lock = threading.RLock()
        self._raw_socket: socket.socket = ws.sock
        ws.sock = _SerialSocket(ws.sock, self._write_lock)
        self._last_pong = time.monotonic()
        self._last_pong_ms = now_ms()
        self._close: tuple[int, str] | None = None

    @property
    def quality(self) -> str:
        """The quality this client watches now."""
        return self.outbox.quality

    def last_pong_ms(self) -> int:
        """When the client last answered a ping (or connected), epoch ms."""
        return self._last_pong_ms

    def silent_for(self, now: float) -> float:
        """Seconds since the last pong, against `time.monotonic()`."""
        return now - self._last_pong

    def abort(self, reason: str) -> None:
        """Drop the client now, even while a send to it is stuck: shut the socket down."""
        log.debug("aborting preview client %s: %s", self.client_id, reason)
        self.outbox.close()
        try:
            self._raw_socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def end(self, reason: str) -> None:
        """Close the connection (1008 with `reason`) once what is being sent has gone."""
        self._close = (CLOSE_POLICY_VIOLATION, reason)
        self.outbox.close()

    def run(self) -> None:
        """Serve the client until it leaves, breaks the protocol or stops answering."""
        context = self._context
        context.roster.add(self)
        context.hub.join(self.quality, self.outbox)
        receiver = threading.Thread(target=self._receive, name=f"preview-rx-{self.client_id}",
                                    daemon=True)
        try:
            self._send(self._hello())
            state = context.initial_state()
            if state is not None:
                self.outbox.put_state(state)
            receiver.start()
            self._send_loop()
            if self.outbox.overflowed:
                self._close = (CLOSE_POLICY_VIOLATION, "too far behind: messages piled up")
            if self._close is not None:
                self._close_with(*self._close)
        except (ConnectionClosed, OSError, LocalProtocolError):
            pass
        finally:
            self.outbox.close()
            context.hub.leave(self.quality, self.outbox)
            context.roster.remove(self)

    def _hello(self) -> str:
        width, height = preview_size(self.quality, *self._context.output_size)
        return message("hello", {
            "clientId": self.client_id, "quality": self.quality, "width": width,
            "height": height, "fps": self._context.fps,
            "pingInterval": self._context.ping_interval,
            "pongTimeout": self._context.pong_timeout,
        })

    def _send_loop(self) -> None:
        interval = self._context.ping_interval
        next_ping = time.monotonic() + interval
        while True:
            item = self.outbox.take(timeout=max(0.0, next_ping - time.monotonic()))
            if self.outbox.closed:
                return
            if item is not None:
                self._send(item)
            if time.monotonic() >= next_ping:
                self._send(message("ping", {"at": now_ms()}))
                next_ping = time.monotonic() + interval

    def _send(self, item: str | bytes) -> None:
        with self._write_lock:
            self._ws.send(item)
        if isinstance(item, bytes):
            self._context.metrics.frame_sent(self.quality)

    def _receive(self) -> None:
        """Handle client messages until the connection ends; then wake the sender."""
        try:
            while True:
                data = self._ws.receive()
                if data is None:
                    continue
                self._handle(data)
        except ProtocolViolation as violation:
            log.info("closing preview client %s: %s", self.client_id, violation.reason)
            self._close = (violation.code, violation.reason)
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.outbox.close()

    def _handle(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            raise ProtocolViolation(CLOSE_UNSUPPORTED_DATA,
                                    "binary messages are not accepted: send JSON text")
        try:
            parsed = json.loads(data)
        except ValueError:
            raise ProtocolViolation(CLOSE_POLICY_VIOLATION, "not JSON") from None
        if not isinstance(parsed, dict):
            raise ProtocolViolation(CLOSE_POLICY_VIOLATION, "not a JSON object")
        try:
            found = _client_message.load(parsed)
        except ValidationError as exc:
            field, problems = next(iter(exc.normalized_messages().items()))
            detail = problems[0] if isinstance(problems, list) else str(problems)
            raise ProtocolViolation(CLOSE_POLICY_VIOLATION, f"{field}: {detail}") from None
        kind = found["type"]
        if kind == "ping":
            self.outbox.put_message(message("pong", {"at": now_ms()}))
        elif kind == "pong":
            self._last_pong = time.monotonic()
            self._last_pong_ms = now_ms()
        elif "quality" not in found:
            raise ProtocolViolation(CLOSE_POLICY_VIOLATION, "quality: Missing data for "
                                    "required field.")
        else:
            self._switch(found["quality"])

    def _switch(self, quality: str) -> None:
        """Watch `quality` from now on; a new hello tells the new frame size."""
        old = self.quality
        self.outbox.switch(quality)
        if quality != old:
            self._context.hub.leave(old, self.outbox)
            self._context.hub.join(quality, self.outbox)
            # Registered at once, so the render worker starts encoding it within a second.
            self._context.roster.register([self])
        self.outbox.put_message(self._hello())

    def _close_with(self, code: int, reason: str) -> None:
        with self._write_lock:
            if self._ws.connected:
                self._ws.close(reason=code, message=reason)
