"""Preview frame sizes and the pub/sub message layout."""

from __future__ import annotations

import pytest

from core.preview_frames import pack_frame, preview_size, unpack_frame


def test_quality_sizes_keep_the_aspect_and_never_upscale() -> None:
    assert preview_size("high", 1920, 1080) == (1920, 1080)
    assert preview_size("medium", 1920, 1080) == (640, 360)
    assert preview_size("low", 1280, 720) == (320, 180)
    assert preview_size("medium", 320, 240) == (320, 240)
    assert preview_size("low", 1000, 562) == (320, 180)  # heights stay even


def test_messages_carry_production_time_and_sequence() -> None:
    message = pack_frame(b"\xff\xd8jpeg", 1795000000.25, 42)
    assert unpack_frame(message) == (1795000000.25, 42, b"\xff\xd8jpeg")
    with pytest.raises(ValueError):
        unpack_frame(b"short")
