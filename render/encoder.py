"""Encode composited frames once: H.264 (libx264, CBR, 2 s GOP) plus the program's AAC-LC track.

The packets it returns are plain data (`EncodedPacket`), so they can be handed to any
number of outputs, each muxing them in a process of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

import av
import cv2
import numpy

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000
AUDIO_CHANNELS = 2
AUDIO_FRAME_SAMPLES = 1024  # AAC-LC frames are always 1024 samples


@dataclass(frozen=True)
class EncodedPacket:
    """One encoded packet. Times are in 1/fps for video and 1/48000 for audio."""

    kind: str  # "video" or "audio"
    data: bytes
    pts: int
    dts: int
    keyframe: bool
    duration: int


@dataclass(frozen=True)
class StreamInfo:
    """What a muxer needs to know about the encoded streams."""

    width: int
    height: int
    fps: int
    audio_rate: int = AUDIO_RATE
    audio_channels: int = AUDIO_CHANNELS


class Encoder:
    """libx264 + AAC encoder for one stream; owned by the render thread (not thread-safe)."""

    def __init__(self, width: int, height: int, fps: int, video_bitrate: int,
                 audio_bitrate: int) -> None:
        self.info = StreamInfo(width, height, fps)
        self._gop = 2 * fps
        self._video = _video_context(width, height, fps, video_bitrate)
        self._audio = _audio_context(audio_bitrate)
        # Planar samples not yet encoded (AAC takes frames of 1024), up to `_queued_until`.
        self._queue: list[numpy.ndarray] = []
        self._queued_until = 0
        self._next_audio_pts = 0
        self._last_array: numpy.ndarray | None = None
        self._last_frame: av.VideoFrame | None = None
        self._last_gop = -1

    def encode(self, picture: numpy.ndarray, slot: int,
               audio: numpy.ndarray | None = None) -> list[EncodedPacket]:
        """Encode the frame shown at `slot` (its index on the 1/fps timeline): BGR, or I420
        (render.layers.planar), with the program's sound that ends with this slot (`audio`,
        (n, 2) float32 from render.audio.mixer; None: silence).

        The sound track always reaches exactly the end of the slot (samples `audio` lacks are
        silence before it, samples from before what was encoded already are left out), so it
        stays continuous and on its picture when the clock skips slots.
        """
        frame = self._yuv_frame(picture)
        frame.pts = slot
        gop = slot // self._gop
        # x264 counts frames, not time: when slots were skipped, force the keyframe that
        # starts each 2 s window so players joining mid-stream still wait at most 2 s.
        frame.pict_type = av.video.frame.PictureType.I if gop != self._last_gop else \
            av.video.frame.PictureType.NONE
        self._last_gop = gop
        packets = self._video_packets(self._video.encode(frame))
        packets.extend(self._audio_until((slot + 1) * AUDIO_RATE // self.info.fps, audio))
        return packets

    def flush(self) -> list[EncodedPacket]:
        """Drain both encoders; call once at the end of the stream."""
        packets = self._video_packets(self._video.encode(None))
        packets.extend(self._audio_packets(self._audio.encode(None)))
        return packets

    def close(self) -> None:
        """Drop the cached frame; the codec contexts are freed with the encoder."""
        self._last_array = self._last_frame = None

    def _yuv_frame(self, picture: numpy.ndarray) -> av.VideoFrame:
        # The compositor hands back the same array when nothing changed: skip the
        # colour conversion then (x264 copies the picture, so reusing it is safe).
        if picture is self._last_array and self._last_frame is not None:
            return self._last_frame
        # A 2-D frame is I420 already (a compositor composited in YUV).
        yuv = picture if picture.ndim == 2 else cast(
            numpy.ndarray[Any, numpy.dtype[numpy.uint8]],
            cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420))
        self._last_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        self._last_array = picture
        return self._last_frame

    def _audio_until(self, end_sample: int, audio: numpy.ndarray | None) -> list[EncodedPacket]:
        wanted = end_sample - self._queued_until
        if wanted > 0:
            # `audio` ends where the slot ends: what it lacks is silence before it.
            block = self._silence_of(wanted) if audio is None else audio[-wanted:]
            if len(block) < wanted:
                block = numpy.concatenate([self._silence_of(wanted - len(block)), block])
            # AAC takes planar float: one row per channel.
            self._queue.append(numpy.ascontiguousarray(block.T, numpy.float32))
            self._queued_until = end_sample
        packets: list[EncodedPacket] = []
        queued = numpy.concatenate(self._queue, axis=1) if len(self._queue) > 1 else \
            self._queue[0] if self._queue else None
        start = 0
        while queued is not None and queued.shape[1] - start >= AUDIO_FRAME_SAMPLES:
            samples = numpy.ascontiguousarray(queued[:, start:start + AUDIO_FRAME_SAMPLES])
            start += AUDIO_FRAME_SAMPLES
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self._next_audio_pts
            frame.time_base = Fraction(1, AUDIO_RATE)
            self._next_audio_pts += AUDIO_FRAME_SAMPLES
            packets.extend(self._audio_packets(self._audio.encode(frame)))
        self._queue = [] if queued is None or start >= queued.shape[1] else [queued[:, start:]]
        return packets

    @staticmethod
    def _silence_of(count: int) -> numpy.ndarray:
        return numpy.zeros((count, AUDIO_CHANNELS), numpy.float32)

    @staticmethod
    def _video_packets(packets: list[av.Packet[Any]]) -> list[EncodedPacket]:
        return [EncodedPacket("video", bytes(p), *_times(p), p.is_keyframe, p.duration or 1)
                for p in packets]

    @staticmethod
    def _audio_packets(packets: list[av.Packet[Any]]) -> list[EncodedPacket]:
        return [EncodedPacket("audio", bytes(p), *_times(p), True,
                              p.duration or AUDIO_FRAME_SAMPLES) for p in packets]


def _times(packet: av.Packet[Any]) -> tuple[int, int]:
    """pts and dts of an encoded packet (an encoder always sets both; PyAV types them
    optional)."""
    if packet.pts is None or packet.dts is None:
        raise RuntimeError("the encoder returned a packet without timestamps")
    return packet.pts, packet.dts


def _video_context(width: int, height: int, fps: int, bitrate: int) -> av.VideoCodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps, 1)
    ctx.bit_rate = bitrate
    # No GLOBAL_HEADER flag: x264 then repeats SPS/PPS in every keyframe, so a muxer (or a
    # restarted sender) can start at any keyframe and find its extradata there.
    ctx.options = {
        "preset": "veryfast", "tune": "zerolatency", "profile": "high",
        "g": str(2 * fps), "keyint_min": str(2 * fps), "sc_threshold": "0",
        "maxrate": str(bitrate), "bufsize": str(bitrate), "nal-hrd": "cbr",
    }
    ctx.open()
    return ctx


def _audio_context(bitrate: int) -> av.AudioCodecContext:
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate = AUDIO_RATE
    ctx.layout = "stereo"
    ctx.format = "fltp"
    ctx.bit_rate = bitrate
    ctx.time_base = Fraction(1, AUDIO_RATE)
    ctx.profile = "LC"
    ctx.open()
    return ctx
