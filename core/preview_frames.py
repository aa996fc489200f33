"""Preview frames on Redis pub/sub: the channel per quality and the message layout.

The render worker publishes one message per frame and quality; the preview process forwards
the JPEG to its WebSocket clients. Each message is a fixed header followed by the JPEG:
the time the render worker produced the frame (epoch seconds, float64) and a frame sequence
number (uint64), both big-endian, so end-to-end latency can be measured.
"""

from __future__ import annotations

import struct

from core.schemas.preview import QUALITIES

# Width of each quality; None keeps the output size. Heights keep the output's aspect.
QUALITY_WIDTHS: dict[str, int | None] = {"high": None, "medium": 640, "low": 320}
assert set(QUALITY_WIDTHS) == set(QUALITIES)

_HEADER = struct.Struct(">dQ")


def preview_size(quality: str, width: int, height: int) -> tuple[int, int]:
    """The frame size of `quality` for an output of width x height (even, never upscaled)."""
    target = QUALITY_WIDTHS[quality]
    if target is None or target >= width:
        return width, height
    return target, max(2, round(height * target / width / 2) * 2)


def pack_frame(jpeg: bytes, produced_at: float, sequence: int) -> bytes:
    """One pub/sub message."""
    return _HEADER.pack(produced_at, sequence) + jpeg


def unpack_frame(message: bytes) -> tuple[float, int, bytes]:
    """(produced_at, sequence, jpeg) from a pub/sub message; ValueError if it is too short."""
    if len(message) < _HEADER.size:
        raise ValueError("preview frame message is shorter than its header")
    produced_at, sequence = _HEADER.unpack_from(message)
    return produced_at, sequence, message[_HEADER.size:]
