"""Preview frame sizes and the stamp each JPEG carries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.preview_frames import preview_size, read_stamp, stamp_frame


def test_quality_sizes_keep_the_aspect_and_never_upscale() -> None:
    assert preview_size("high", 1920, 1080) == (1920, 1080)
    assert preview_size("medium", 1920, 1080) == (640, 360)
    assert preview_size("low", 1280, 720) == (320, 180)
    assert preview_size("medium", 320, 240) == (320, 240)
    assert preview_size("low", 1000, 562) == (320, 180)  # heights stay even


def test_stamped_frames_carry_production_time_and_sequence_and_still_decode() -> None:
    picture = np.full((36, 64, 3), (0, 0, 255), np.uint8)
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    stamped = stamp_frame(encoded.tobytes(), 1795000000.25, 42)
    assert read_stamp(stamped) == (1795000000.25, 42)
    decoded = cv2.imdecode(np.frombuffer(stamped, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (36, 64, 3)
    assert abs(int(decoded[5, 5][2]) - 255) <= 3 and int(decoded[5, 5][0]) <= 3
    # A comment of someone else's is skipped, and a JPEG without APP0 takes the stamp too.
    bare = b"\xff\xd8\xff\xfe\x00\x07other" + b"\xff\xda\x00\x02"
    assert read_stamp(stamp_frame(bare, 1.5, 7)) == (1.5, 7)
    with pytest.raises(ValueError):
        read_stamp(encoded.tobytes())
    with pytest.raises(ValueError):
        stamp_frame(b"GIF89a", 1.0, 1)
