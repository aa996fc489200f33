"""Pull an RTMP stream back with PyAV, as a viewer would, and record what was decoded.

A background thread opens the stream, decodes video and audio, and keeps for every decoded
video frame its arrival time, pts and keyframe flag (`FrameRecord`); only the newest
`keep_images` frames keep their picture (BGR ndarray). When the stream ends or stalls (the
publisher went away, the server died or froze) it reopens the URL until `close()`, counting
`opens`. With `keep_audio` it also keeps every decoded audio frame's pts and samples
(`AudioRecord`). Tests poll with `wait_for_frames`, never sleep-and-hope::

    player = Player(server.url("key")).start()
    player.wait_for_frames(30, timeout=15)
    assert player.pixel(10, 10) == pytest.approx((0, 0, 255), abs=12)   # BGR
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy

# How long `close` waits for the thread: packets of a live stream come every frame.
CLOSE_WAIT = 0.25


@dataclass(frozen=True)
class FrameRecord:
    """One decoded video frame: when it arrived (time.monotonic), pts (s), keyframe flag. The
    frames of a connection's first half second (its probe) arrive together as it ends."""

    arrival: float
    pts: float | None
    keyframe: bool
    image: numpy.ndarray | None = field(default=None, repr=False, compare=False)
    # What the player's `measure` found in the picture (kept for every frame).
    measured: object = None


@dataclass(frozen=True)
class AudioRecord:
    """One decoded audio frame: pts (s) and its samples, (n, channels) float32."""

    pts: float | None
    samples: numpy.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class PlayedStream:
    """What the player found in the stream it opened."""

    video_codec: str
    width: int
    height: int
    fps: float | None
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: int | None


class Player:
    """A viewer of one RTMP URL that decodes continuously in a background thread."""

    def __init__(self, url: str, *, open_timeout: float = 5.0, read_timeout: float = 4.0,
                 keep_images: int = 10, keep_audio: bool = False,
                 measure: Callable[[numpy.ndarray], object] | None = None) -> None:
        self.url = url
        self.keep_audio = keep_audio
        self.audio: list[AudioRecord] = []
        self.measure = measure
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.frames: list[FrameRecord] = []
        self.audio_frames = 0
        self.opens = 0
        self.info: PlayedStream | None = None
        self.errors: collections.deque[str] = collections.deque(maxlen=20)
        self._images: collections.deque[FrameRecord] = collections.deque(maxlen=keep_images)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)

    def start(self) -> Player:
        """Start pulling in the background."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop pulling. A thread taking packets ends at the next one, which this waits for; one
        blocked on a stream that ended (in a read or an open) only leaves when that times out,
        seconds later, which this does not wait for: it is a daemon, and records nothing
        more."""
        self._closed.set()
        self._thread.join(CLOSE_WAIT)

    def frames_since(self, since: float) -> list[FrameRecord]:
        """Records of the frames that arrived at or after `since` (time.monotonic)."""
        with self._lock:
            return [frame for frame in self.frames if frame.arrival >= since]

    def wait_for_frames(self, count: int, timeout: float, since: float = 0.0
                        ) -> list[FrameRecord]:
        """Wait until `count` frames arrived after `since`; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = self.frames_since(since)
            if len(frames) >= count:
                return frames
            time.sleep(0.05)
        raise TimeoutError(
            f"{len(self.frames_since(since))} of {count} frames in {timeout} s from "
            f"{self.url.rsplit('/', 1)[0]} (opens {self.opens}, errors {list(self.errors)[-3:]})")

    def latest_frame(self) -> numpy.ndarray:
        """The newest decoded picture (BGR, height x width x 3)."""
        with self._lock:
            if not self._images:
                raise LookupError("no frame decoded yet")
            image = self._images[-1].image
        if image is None:
            raise LookupError("the newest frame kept no picture")
        return image

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """(b, g, r) of the newest decoded picture at (x, y)."""
        b, g, r = (int(v) for v in self.latest_frame()[y, x])
        return b, g, r

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._play_once()
            except (av.FFmpegError, OSError, ValueError) as exc:
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            self._closed.wait(0.2)

    def _play_once(self) -> None:
        # FLV announces its streams as packets arrive, so the probe always lasts its whole
        # analyzeduration. The ingest sends a new viewer nothing before a video keyframe
        # (tests.support.nginx_rtmp), so half a second finds the video, then the sound; the
        # packets probed are kept and decoded, so the first picture is that keyframe, not the
        # next one a GOP later.
        options = {"rtmp_live": "live", "analyzeduration": "500000"}
        with av.open(self.url, options=options,
                     timeout=(self.open_timeout, self.read_timeout)) as container:
            if self._closed.is_set():  # closed while the open waited
                return
            self.opens += 1
            if not container.streams.video:
                raise ValueError("no video stream found")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            self.info = _describe(video, audio)
            for packet in container.demux(*[s for s in (video, audio) if s is not None]):
                if self._closed.is_set():
                    return
                for frame in packet.decode():
                    if isinstance(frame, (av.VideoFrame, av.AudioFrame)):
                        self._record(frame)

    def _record(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if isinstance(frame, av.AudioFrame):
            self.audio_frames += 1
            if self.keep_audio:
                samples = frame.to_ndarray()  # fltp: one row per channel
                with self._lock:
                    self.audio.append(AudioRecord(frame.time, samples.T.astype(numpy.float32)))
            return
        image = frame.to_ndarray(format="bgr24")
        measured = self.measure(image) if self.measure is not None else None
        record = FrameRecord(time.monotonic(), frame.time, frame.key_frame, image, measured)
        with self._lock:
            self.frames.append(FrameRecord(record.arrival, record.pts, record.keyframe,
                                           measured=measured))
            self._images.append(record)


def _describe(video: av.video.stream.VideoStream,
              audio: av.audio.stream.AudioStream | None) -> PlayedStream:
    rate = video.average_rate or video.guessed_rate
    return PlayedStream(
        video_codec=video.codec_context.name, width=video.codec_context.width,
        height=video.codec_context.height, fps=float(rate) if rate else None,
        audio_codec=audio.codec_context.name if audio else None,
        audio_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
    )
