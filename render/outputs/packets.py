"""Encoded packets on their way to a sender: a bounded queue and the pipe wire format."""

from __future__ import annotations

import collections
import struct
import threading

from render.encoder import EncodedPacket

_HEADER = struct.Struct("<BBqqq")  # kind, keyframe, pts, dts, duration
_KINDS = ("video", "audio")
CLOSE = b""  # an empty message asks the sender to write its trailer and exit


def pack(packet: EncodedPacket) -> bytes:
    """The packet as one pipe message."""
    header = _HEADER.pack(_KINDS.index(packet.kind), packet.keyframe, packet.pts, packet.dts,
                          packet.duration)
    return header + packet.data


def unpack(message: bytes) -> EncodedPacket:
    """The packet `pack` made."""
    kind, keyframe, pts, dts, duration = _HEADER.unpack_from(message)
    return EncodedPacket(_KINDS[kind], message[_HEADER.size:], pts, dts, bool(keyframe),
                         duration)


class PacketQueue:
    """A byte-bounded FIFO that never blocks the producer.

    When it overflows it empties itself and skips everything up to the next video
    keyframe, so what it holds always decodes from its head.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: collections.deque[EncodedPacket] = collections.deque()
        self._bytes = 0
        self._want_keyframe = True
        self._closing = False
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, packet: EncodedPacket) -> None:
        """Append `packet`, or drop it (counted) while waiting for a keyframe."""
        with self._ready:
            if self._want_keyframe and not _is_video_keyframe(packet):
                self.dropped += 1
                return
            self._want_keyframe = False
            if self._bytes + len(packet.data) > self._max_bytes:
                self.dropped += len(self._items) + 1
                self._clear(want_keyframe=True)
                return
            self._items.append(packet)
            self._bytes += len(packet.data)
            self._ready.notify()

    def get(self, timeout: float) -> EncodedPacket | bytes | None:
        """The next packet; CLOSE once `close()` was called and the queue is empty; or None."""
        with self._ready:
            self._ready.wait_for(lambda: self._items or self._closing, timeout)
            if self._items:
                packet = self._items.popleft()
                self._bytes -= len(packet.data)
                return packet
            return CLOSE if self._closing else None

    def restart_at_keyframe(self) -> None:
        """Keep only what follows the newest queued keyframe, for a freshly started sender."""
        with self._ready:
            for index in range(len(self._items) - 1, -1, -1):
                if _is_video_keyframe(self._items[index]):
                    for _ in range(index):
                        self._bytes -= len(self._items.popleft().data)
                        self.dropped += 1
                    return
            self.dropped += len(self._items)
            self._clear(want_keyframe=True)

    def close(self) -> None:
        """Let `get` return CLOSE once the queued packets are taken."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)

    def _clear(self, want_keyframe: bool) -> None:
        self._items.clear()
        self._bytes = 0
        self._want_keyframe = want_keyframe


def _is_video_keyframe(packet: EncodedPacket) -> bool:
    return packet.kind == "video" and packet.keyframe
