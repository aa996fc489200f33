"""The encoder: decodable H.264 with a keyframe every 2 s, continuous silent AAC."""

from __future__ import annotations

import av
import numpy
import pytest

from render.encoder import AUDIO_FRAME_SAMPLES, AUDIO_RATE, EncodedPacket, Encoder

WIDTH, HEIGHT, FPS = 320, 180, 30


@pytest.fixture
def encoder() -> Encoder:
    """A small encoder, as the render worker builds it."""
    return Encoder(WIDTH, HEIGHT, FPS, 800_000, 96_000)


def solid(bgr: tuple[int, int, int]) -> numpy.ndarray:
    """A frame of one colour."""
    return numpy.full((HEIGHT, WIDTH, 3), bgr, numpy.uint8)


def decode_video(packets: list[EncodedPacket]) -> list[av.VideoFrame]:
    """Decode the video packets with FFmpeg's h264 decoder."""
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for packet in packets:
        if packet.kind == "video":
            frames.extend(decoder.decode(av.Packet(packet.data)))
    frames.extend(decoder.decode(None))
    return frames


def test_video_decodes_as_high_profile_with_the_right_colour(encoder: Encoder) -> None:
    packets = [p for slot in range(45) for p in encoder.encode(solid((0, 0, 255)), slot)]
    packets += encoder.flush()
    frames = decode_video(packets)
    assert len(frames) == 45
    assert (frames[0].width, frames[0].height) == (WIDTH, HEIGHT)
    assert frames[-1].to_ndarray(format="bgr24")[90, 160].tolist() == pytest.approx(
        [0, 0, 255], abs=10)
    assert packets[0].kind == "video" and packets[0].keyframe
    # profile_idc 100 (High) in the SPS, which x264 repeats in every keyframe.
    sps = packets[0].data.index(b"\x00\x00\x01\x67") + 4
    assert packets[0].data[sps] == 100


def test_keyframe_every_two_seconds_even_when_slots_skip(encoder: Encoder) -> None:
    slots = [*range(0, 130), *range(137, 200), *range(230, 300)]
    keyframes = [p.pts for slot in slots for p in encoder.encode(solid((40, 80, 120)), slot)
                 if p.kind == "video" and p.keyframe]
    # Without skips: exactly every 2*fps frames; after a skip, the first frame of each window.
    assert keyframes == [0, 60, 120, 180, 240]


def test_audio_is_continuous_and_decodes_when_slots_skip(encoder: Encoder) -> None:
    frame = solid((0, 255, 0))
    slots = [*range(0, 10), *range(40, 50)]
    packets = [p for slot in slots for p in encoder.encode(frame, slot)]
    audio = [p for p in packets if p.kind == "audio"]
    starts = [p.pts for p in audio]
    assert starts == list(range(starts[0], starts[-1] + 1, AUDIO_FRAME_SAMPLES))
    # Audio covers the timeline up to the end of the last slot, less the AAC encoder's
    # delay (its priming frame plus one frame of lookahead).
    covered = starts[-1] + AUDIO_FRAME_SAMPLES
    assert 0 <= 50 * AUDIO_RATE // FPS - covered < 3 * AUDIO_FRAME_SAMPLES

    decoder = av.CodecContext.create("aac", "r")
    decoder.sample_rate, decoder.layout = AUDIO_RATE, "stereo"
    decoded = [f for p in audio for f in decoder.decode(av.Packet(p.data))]
    assert decoded and all(f.sample_rate == AUDIO_RATE for f in decoded)
    assert all(len(f.layout.channels) == 2 for f in decoded)
    assert max(float(numpy.abs(f.to_ndarray()).max()) for f in decoded) < 1e-3


def test_the_same_frame_object_is_converted_once(encoder: Encoder) -> None:
    frame = solid((255, 0, 0))
    packets = [p for slot in range(5) for p in encoder.encode(frame, slot)]
    # The compositor promises an unchanged frame when it returns the same object, so a
    # change made in place is not seen: proof that the converted frame was reused.
    frame[:] = (0, 0, 255)
    packets += encoder.encode(frame, 5)
    packets += encoder.encode(solid((0, 0, 255)), 6)
    packets += encoder.flush()
    colours = [f.to_ndarray(format="bgr24")[90, 160].tolist() for f in decode_video(packets)]
    assert colours[5] == pytest.approx([255, 0, 0], abs=10)
    assert colours[6] == pytest.approx([0, 0, 255], abs=10)
