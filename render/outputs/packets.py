"""Encoded packets on their way to a sender: batches, a bounded queue and the pipe format.

The packets of one encode call (a video frame and the audio that covers it) travel as one
`Batch`: packed into one pipe message once, in the render process, and shared by every
destination, so each destination costs one queue entry, one pipe write and one sender
wake-up a frame instead of one per packet.

Fencing (docs/render.md): a pipe message is a header (the render lease's deadline, as
time.monotonic, the same clock for every process of the host, and the body's size), then the
packed batches the feeder took from the queue, stamped with the deadline as it hands them over;
a sender drops a message read past its deadline instead of writing it. The close message
carries one too: a stale close ends a network output without its trailer.
"""

from __future__ import annotations

import collections
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from render.encoder import EncodedPacket

_HEADER = struct.Struct("<BBqqqI")  # kind, keyframe, pts, dts, duration, data size
_MESSAGE = struct.Struct("<dI")  # a pipe message: deadline (time.monotonic), body size
_KINDS = ("video", "audio")
CLOSE_SIZE = 0xFFFFFFFF  # the body size of a close message (which has no body)
CLOSE = b""  # what PacketQueue.take answers once closed and empty


@dataclass(frozen=True)
class Batch:
    """Packets in decoding order and the one pipe message that carries them all."""

    packets: tuple[EncodedPacket, ...]
    message: bytes
    keyframe_at: int | None  # index of the first video keyframe, if any

    @classmethod
    def of(cls, packets: Sequence[EncodedPacket]) -> Batch:
        """The batch of `packets` (packed here, once for every destination)."""
        keyframe_at = next((index for index, packet in enumerate(packets)
                            if _is_video_keyframe(packet)), None)
        return cls(tuple(packets), pack(packets), keyframe_at)

    def from_keyframe(self) -> Batch | None:
        """This batch from its first video keyframe on (itself when it starts with one), or
        None when it holds no keyframe."""
        if not self.keyframe_at:
            return self if self.keyframe_at == 0 else None
        return Batch.of(self.packets[self.keyframe_at:])

    def __len__(self) -> int:
        return len(self.packets)


def pack(packets: Sequence[EncodedPacket]) -> bytes:
    """`packets` packed (batches packed are joined into one pipe message by `pipe_message`)."""
    parts = []
    for packet in packets:
        parts.append(_HEADER.pack(_KINDS.index(packet.kind), packet.keyframe, packet.pts,
                                  packet.dts, packet.duration, len(packet.data)))
        parts.append(packet.data)
    return b"".join(parts)


def pipe_message(deadline: float, batches: Sequence[Batch]) -> bytes:
    """One pipe message: `batches`, to be written before `deadline` or never."""
    size = sum(len(batch.message) for batch in batches)
    return b"".join([_MESSAGE.pack(deadline, size), *(batch.message for batch in batches)])


def close_message(deadline: float) -> bytes:
    """The message that asks the sender to finish (with its trailer unless `deadline` has
    passed and it streams to the network) and exit."""
    return _MESSAGE.pack(deadline, CLOSE_SIZE)


def unpack(data: bytes) -> tuple[float, list[EncodedPacket] | None]:
    """The deadline of a pipe message and its packets in their order (None: a close)."""
    deadline, body = _MESSAGE.unpack_from(data)
    if body == CLOSE_SIZE:
        return deadline, None
    packets = []
    offset, end, header_size = _MESSAGE.size, len(data), _HEADER.size
    while offset < end:
        kind, keyframe, pts, dts, duration, size = _HEADER.unpack_from(data, offset)
        offset += header_size
        packets.append(EncodedPacket(_KINDS[kind], data[offset:offset + size], pts, dts,
                                     bool(keyframe), duration))
        offset += size
    return deadline, packets


class PacketQueue:
    """A byte-bounded FIFO of batches that never blocks the producer.

    When it overflows it empties itself and skips everything up to the next video
    keyframe, so what it holds always decodes from its head.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: collections.deque[Batch] = collections.deque()
        self._bytes = 0
        self._packets = 0
        self._want_keyframe = True
        self._closing = False
        self._closed = threading.Event()
        self._ready = threading.Condition()
        self.dropped = 0  # packets

    def put(self, batch: Batch) -> None:
        """Append `batch`, or drop it (its packets counted) while waiting for a keyframe; a
        batch that holds one joins from that keyframe on."""
        with self._ready:
            if self._want_keyframe:
                tail = batch.from_keyframe()
                self.dropped += len(batch) - (len(tail) if tail else 0)
                if tail is None:
                    return
                batch = tail
            self._want_keyframe = False
            if self._bytes + len(batch.message) > self._max_bytes:
                self.dropped += self._packets + len(batch)
                self._clear(want_keyframe=True)
                return
            self._append(batch)
            self._ready.notify()

    def take(self, timeout: float, max_bytes: int = 4 << 20) -> list[Batch] | bytes | None:
        """The queued batches, oldest first, as many as fit in `max_bytes` (at least one);
        CLOSE once `close()` was called and the queue is empty; or None when nothing came
        within `timeout` seconds."""
        with self._ready:
            self._ready.wait_for(lambda: self._items or self._closing, timeout)
            if not self._items:
                return CLOSE if self._closing else None
            batches: list[Batch] = []
            size = 0
            while self._items and (not batches or size + len(self._items[0].message)
                                   <= max_bytes):
                batch = self._items.popleft()
                size += len(batch.message)
                self._packets -= len(batch)
                batches.append(batch)
            self._bytes -= size
            return batches

    def wait_closed(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `close()` (new batches do not end the wait);
        whether it was called."""
        return self._closed.wait(timeout)

    def restart_at_keyframe(self) -> None:
        """Keep only what follows the newest queued keyframe, for a freshly started sender."""
        with self._ready:
            for index in range(len(self._items) - 1, -1, -1):
                tail = self._items[index].from_keyframe()
                if tail is not None:
                    kept = [tail, *list(self._items)[index + 1:]]
                    self.dropped += self._packets - sum(len(batch) for batch in kept)
                    self._clear(want_keyframe=False)
                    for batch in kept:
                        self._append(batch)
                    return
            self.dropped += self._packets
            self._clear(want_keyframe=True)

    def close(self) -> None:
        """Let `take` return CLOSE once the queued batches are taken."""
        with self._ready:
            self._closing = True
            self._closed.set()
            self._ready.notify_all()

    def __len__(self) -> int:
        """Packets queued."""
        with self._ready:
            return self._packets

    def _append(self, batch: Batch) -> None:
        self._items.append(batch)
        self._bytes += len(batch.message)
        self._packets += len(batch)

    def _clear(self, want_keyframe: bool) -> None:
        self._items.clear()
        self._bytes = 0
        self._packets = 0
        self._want_keyframe = want_keyframe


def _is_video_keyframe(packet: EncodedPacket) -> bool:
    return packet.kind == "video" and packet.keyframe
