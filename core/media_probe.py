"""Video and audio files of the media library, read with PyAV: what they hold, proof that
they decode, and a poster frame of a video.

Both are cached by (path, mtime_ns, size) in bounded LRU caches, so a listing of the library
probes only new and changed files, and a file replaced under the same name is read again.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.container
import av.stream
from av.audio.stream import AudioStream
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

log = logging.getLogger(__name__)

# Packets read while looking for a first decoded frame of each stream: a real file gives
# one within a few; a file that gives none by then is as good as undecodable.
MAX_PROBE_PACKETS = 500
# The largest picture the probe decodes (8K UHD): a file announcing more would make the API
# allocate hundreds of MB for one frame, and the render worker would refuse it anyway.
MAX_VIDEO_PIXELS = 7680 * 4320
# A poster fits in this square (a 16:9 video gives 640x360), as the admin page shows it small.
POSTER_BOX = 640
POSTER_QUALITY = 80
# Frames decoded after the seek while looking for the poster's time, before taking the last.
MAX_POSTER_FRAMES = 300
# What FFmpeg may raise on a damaged or hostile file, besides its own errors.
_READ_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError)


class ProbeError(ValueError):
    """The file holds no video or audio stream that decodes; the message says why."""


@dataclass(frozen=True)
class MediaInfo:
    """What a probe found. `kind` is "video" when a picture decodes (with or without sound),
    else "audio"; a codec is None when the file has no decodable stream of that type."""

    kind: Literal["video", "audio"]
    duration: float | None
    width: int | None
    height: int | None
    fps: float | None
    video_codec: str | None
    audio_codec: str | None


def probe(path: Path) -> MediaInfo:
    """Open `path`, find its video and audio streams and decode a first frame of each.

    Raises ProbeError when neither decodes (or the file cannot be read).
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProbeError(f"cannot be read: {exc.strerror}") from None
    found = _probe_cached(str(path), stat.st_mtime_ns, stat.st_size)
    if isinstance(found, str):
        raise ProbeError(found)
    return found


def poster(path: Path) -> bytes:
    """A JPEG of the video's frame at 1 s (mid-clip for a clip under 2 s), fitting in a
    POSTER_BOX square. Raises ProbeError when the file is not a video that decodes."""
    info = probe(path)
    if info.kind != "video":
        raise ProbeError("has no picture")
    stat = path.stat()
    found = _poster_cached(str(path), stat.st_mtime_ns, stat.st_size, info.duration)
    if isinstance(found, str):
        raise ProbeError(found)
    return found


@functools.lru_cache(maxsize=512)
def _probe_cached(path: str, mtime_ns: int, size: int) -> MediaInfo | str:
    """The probe of one version of a file; failures are cached too (as their message), so a
    broken file in the library is not decoded again at every listing."""
    try:
        with av.open(path) as container:
            return _probe_container(container)
    except ProbeError as exc:
        return str(exc)
    except _READ_ERRORS as exc:
        log.debug("probe of %s failed: %s", path, exc)
        return f"is not a video or audio file FFmpeg can read ({_reason(exc)})"


@functools.lru_cache(maxsize=64)
def _poster_cached(path: str, mtime_ns: int, size: int, duration: float | None) -> bytes | str:
    at = 1.0 if duration is None or duration >= 2.0 else duration / 2
    try:
        with av.open(path) as container:
            stream = _picture_stream(container)
            if stream is None:
                return "has no picture"
            frame = _frame_near(container, stream, at)
    except _READ_ERRORS as exc:
        return f"no frame decodes ({_reason(exc)})"
    if frame is None:
        return "no frame decodes"
    scale = min(1.0, POSTER_BOX / max(frame.width, frame.height))
    width, height = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    image = Image.fromarray(frame.reformat(width=width, height=height, format="rgb24")
                            .to_ndarray())
    out = io.BytesIO()
    image.save(out, "JPEG", quality=POSTER_QUALITY)
    return out.getvalue()


def _probe_container(container: av.container.InputContainer) -> MediaInfo:
    video = _picture_stream(container)
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        raise ProbeError("has no video or audio stream")
    if video is not None:
        _check_size(video.codec_context.width, video.codec_context.height)
    frames = _first_frames(container, [s for s in (video, audio) if s is not None])
    picture = frames.get(video.index) if video is not None else None
    if picture is not None:
        _check_size(picture.width, picture.height)
    sound = audio is not None and audio.index in frames
    if picture is None and not sound:
        raise ProbeError("no video or audio stream decodes")
    return MediaInfo(
        kind="video" if picture is not None else "audio",
        duration=_duration(container, video if picture is not None else audio),
        width=picture.width if picture is not None else None,
        height=picture.height if picture is not None else None,
        fps=_fps(video) if picture is not None and video is not None else None,
        video_codec=video.codec_context.name if picture is not None and video else None,
        audio_codec=audio.codec_context.name if sound and audio is not None else None,
    )


def _picture_stream(container: av.container.InputContainer) -> VideoStream | None:
    """The first video stream that moves: an MP3's or M4A's cover art is a video stream
    flagged as an attached picture, and does not make the file a video."""
    return next((stream for stream in container.streams.video
                 if not stream.disposition & av.stream.Disposition.attached_pic), None)


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_VIDEO_PIXELS:
        raise ProbeError(f"its picture, {width}x{height}, is larger than 7680x4320")


def _first_frames(container: av.container.InputContainer,
                  streams: list[VideoStream | AudioStream]) -> dict[int, VideoFrame | None]:
    """Decode until each stream gave a frame (or MAX_PROBE_PACKETS were read): the index of
    every stream that decoded, with its first frame for a video stream (None for audio)."""
    for stream in streams:
        # One thread: the probe runs in the API process, and a decoder's frame threads
        # each hold pictures of their own.
        stream.codec_context.thread_count = 1
    pending = {stream.index: stream for stream in streams}
    decoded: dict[int, VideoFrame | None] = {}
    try:
        for count, packet in enumerate(container.demux(*streams)):
            wanted = pending.get(packet.stream.index)
            if wanted is not None and _decodes(wanted, packet, decoded):
                del pending[wanted.index]
            if not pending or count >= MAX_PROBE_PACKETS:
                break
    except _READ_ERRORS as exc:
        log.debug("demuxing stopped: %s", exc)
    for waiting in pending.values():
        # A decoder with a delay (B-frames, a short clip) gives its first frame on flush.
        _decodes(waiting, None, decoded)
    return decoded


def _decodes(stream: VideoStream | AudioStream, packet: av.Packet[Any] | None,
             decoded: dict[int, VideoFrame | None]) -> bool:
    try:
        frames = stream.codec_context.decode(packet)
    except _READ_ERRORS:
        return False
    if not frames:
        return False
    first = frames[0]
    decoded[stream.index] = first if isinstance(first, VideoFrame) else None
    return True


def _duration(container: av.container.InputContainer,
              stream: VideoStream | AudioStream | None) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    if stream is not None and stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _fps(stream: VideoStream) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _frame_near(container: av.container.InputContainer, stream: VideoStream,
                at: float) -> VideoFrame | None:
    """The first frame at or after `at` seconds, or the last one decoded on the way."""
    stream.codec_context.thread_count = 1
    if stream.time_base is not None:
        # Timestamps count from the stream's start, which need not be 0 (MPEG-TS, cut files).
        at += float((stream.start_time or 0) * stream.time_base)
        try:
            # To the keyframe at or before `at`; decoding goes on from there.
            container.seek(int(at / stream.time_base), stream=stream)
        except _READ_ERRORS as exc:
            log.debug("poster seek failed, decoding from the start: %s", exc)
    last: VideoFrame | None = None
    try:
        for count, frame in enumerate(container.decode(stream)):
            last = frame
            if frame.time is None or frame.time >= at or count >= MAX_POSTER_FRAMES:
                break
    except _READ_ERRORS as exc:
        log.debug("poster decoding stopped: %s", exc)
    return last


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
