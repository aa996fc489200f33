"""Preview frames on Redis pub/sub: the channel per quality, the frame sizes and the stamp.

The render worker publishes one message per frame and quality: a JPEG that carries, in a
comment segment (COM, which every decoder skips), the time the frame was produced and its
sequence number. The preview process forwards the JPEG untouched, so a browser can read the
same stamp and show the end-to-end latency, and the benchmark can measure it.

The comment reads `SMPV1 <produced at, epoch milliseconds with 3 decimals> <sequence>` and
sits right after the JFIF APP0 segment (or after SOI when there is none).
"""

from __future__ import annotations

import re
import struct

from core.schemas.preview import QUALITIES

# Width of each quality; None keeps the output size. Heights keep the output's aspect.
QUALITY_WIDTHS: dict[str, int | None] = {"high": None, "medium": 640, "low": 320}
assert set(QUALITY_WIDTHS) == set(QUALITIES)

JPEG_SOI = b"\xff\xd8"  # every JPEG starts with it
_APP0 = b"\xff\xe0"
_COM = b"\xff\xfe"
_SOS = b"\xff\xda"
_LENGTH = struct.Struct(">H")
_STAMP = re.compile(rb"^SMPV1 (\d+\.\d{3}) (\d+)$")
# Segments read before giving up on finding the stamp (APP0, COM, a few tables at most).
_MAX_SEGMENTS = 8


def preview_size(quality: str, width: int, height: int) -> tuple[int, int]:
    """The frame size of `quality` for an output of width x height (even, never upscaled)."""
    target = QUALITY_WIDTHS[quality]
    if target is None or target >= width:
        return width, height
    return target, max(2, round(height * target / width / 2) * 2)


def stamp_frame(jpeg: bytes, produced_at: float, sequence: int) -> bytes:
    """`jpeg` with the stamp's comment segment added (ValueError if it is not a JPEG)."""
    if not jpeg.startswith(JPEG_SOI):
        raise ValueError("not a JPEG: it does not start with SOI")
    text = b"SMPV1 %.3f %d" % (produced_at * 1000.0, sequence)
    insert_at = 2
    if jpeg[2:4] == _APP0:
        insert_at = 4 + _LENGTH.unpack_from(jpeg, 4)[0]
    return b"".join((jpeg[:insert_at], _COM, _LENGTH.pack(len(text) + 2), text,
                     jpeg[insert_at:]))


def read_stamp(jpeg: bytes) -> tuple[float, int]:
    """(produced_at in epoch seconds, sequence) of a stamped frame; ValueError if it has none."""
    if not jpeg.startswith(JPEG_SOI):
        raise ValueError("not a JPEG: it does not start with SOI")
    offset = 2
    for _ in range(_MAX_SEGMENTS):
        marker = jpeg[offset:offset + 2]
        if len(marker) < 2 or marker == _SOS or len(jpeg) < offset + 4:
            break
        length = _LENGTH.unpack_from(jpeg, offset + 2)[0]
        if marker == _COM:
            found = _STAMP.match(jpeg[offset + 4:offset + 2 + length])
            if found:
                return float(found[1]) / 1000.0, int(found[2])
        offset += 2 + length
    raise ValueError("the JPEG carries no preview stamp")
