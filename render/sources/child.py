"""A source process: decodes one file or live input and hands pictures to the render worker.

Scaling to the layer's box and the conversion to BGR (or I420, if asked) happen here too
(swscale through `VideoFrame.reformat`), so the render thread only reads finished pictures out
of shared memory.
The parent sends commands over one pipe and reads reports from another:

commands  ("seek", epoch, seconds)  files: show the frame covering that timeline time next
                                    (audio-only files: sound from that time on)
          ("box", width, height)    scale to this box from the next picture on
reports   ("ready",)                started, heartbeat mapped
          ("info", {...})           width, height, fps, codec, audio, duration of the source
          ("ring", number, shape)   a new ring of slots (pictures of that array shape),
                                    `<token>_r<number>`
          ("frame", ring, slot, epoch, time, decoded_at)
          ("audio", epoch, time, samples)  sound (render.sources.audio_track)
          ("state", state, error)   live inputs: connecting | live | error
          ("ended", epoch)          files that do not loop: the last frame (or sound) was sent
          ("error", message)        a file that cannot play; the process then exits with 0

Slots come back through the ring's release counters, with a post of the `freed` semaphore
(render.sources.ring); the parent posts it after each command too, so a child waiting for a
slot waits on the semaphore alone.

The demuxer reads the first video and the first audio stream of the container and decodes
both: the sound goes over the report pipe (render.sources.audio_track). An audio-only file
(`SourceSpec.audio_only`, render.sources.audio_files) has no pictures and no ring; it decodes
only so far beyond what the render thread has read (the heartbeat's `played` cell).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, Protocol

import av
import numpy as np

from render.sources.ring import ChildRing, Heartbeat
from render.sources.spec import MAX_PIXELS, SourceSpec, fit_box, picture_shape

# What one step of a source may take besides a network wait: decoding and scaling a frame,
# seeking in a file.
BEAT_SECONDS = 3.0
# Below the render worker's priority (see run_source).
NICENESS = 10
# How often a waiting source looks at its commands and moves its heartbeat.
WAIT_STEP = 0.25


class Refused(Exception):
    """The source cannot be shown as it is (no video, too large, undecodable)."""


def run_source(spec: SourceSpec, token: str, commands: Connection, reports: Connection,
               freed: Waiter) -> None:
    """Process entry point: play `spec` until killed (or until the parent goes away)."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The render thread has no slack and a source has three frames of it (its ring): when both
    # cores are busy, the program's frame goes first.
    os.nice(NICENESS)
    link = Link(spec, token, commands, reports, freed)
    link.report("ready")
    # Imported here: the modules import this one for Link.
    from render.sources.audio_files import play_audio_file
    from render.sources.files import play_file
    from render.sources.live import pull_live
    if spec.kind == "file":
        try:
            (play_audio_file if spec.audio_only else play_file)(spec, link)
        except Refused as exc:
            link.report("error", str(exc))
            os._exit(0)
    else:
        pull_live(spec, link)


class Waiter(Protocol):
    """The child's side of the `freed` semaphore."""

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool: ...


class Link:
    """The child's ends: commands in, reports out, the heartbeat and the ring of slots."""

    def __init__(self, spec: SourceSpec, token: str, commands: Connection,
                 reports: Connection, freed: Waiter) -> None:
        self._spec = spec
        self._token = token
        self._commands = commands
        self._reports = reports
        self._freed = freed
        self._heartbeat = Heartbeat.attach(token)
        self._box: tuple[int | None, int | None] = (spec.width, spec.height)
        self._ring: ChildRing | None = None
        self._rings = 0
        self.epoch = 0
        self.seek_to: float | None = None  # a seek the player has yet to carry out

    def report(self, *message: Any) -> None:
        """Send a report; a parent that went away ends the process."""
        try:
            self._reports.send(message)
        except (OSError, ValueError):
            os._exit(0)

    def explain(self, error: BaseException) -> str:
        """What went wrong, in words, never naming the location (a URL may carry a key or a
        password); PyAV's errors carry FFmpeg's message without the errno noise."""
        if isinstance(error, av.FFmpegError) and error.strerror:
            text = str(error.strerror)
        else:
            text = f"{type(error).__name__}: {error}"
        return text.replace(self._spec.location, "<source>")

    def beat(self, allowance: float = BEAT_SECONDS) -> None:
        """Tell the watchdog the next `allowance` seconds are accounted for."""
        self._heartbeat.beat(allowance)

    def poll(self, timeout: float = 0.0) -> None:
        """Apply the commands that arrived, waiting up to `timeout` for the first."""
        try:
            while self._commands.poll(timeout):
                timeout = 0.0
                self._apply(self._commands.recv())
        except (EOFError, OSError):  # the parent went away
            os._exit(0)

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, applying commands and beating meanwhile."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self.beat()
            self.poll(min(WAIT_STEP, left))

    def decoded(self) -> None:
        """A frame was decoded (handed over or not): the input is alive."""
        self._heartbeat.decoded()

    def played(self) -> float:
        """How far the render thread has read this source's sound (timeline seconds)."""
        return self._heartbeat.played()

    def wait_for_slot(self, idle: Callable[[], bool] | None = None) -> bool:
        """Wait until a slot is free (True) or a seek arrives (False). Meanwhile `idle()` may
        do other work, saying whether it did any (then the wait goes on without sleeping)."""
        while self.seek_to is None:
            if self._ring is None or self._ring.free_slot() is not None:
                return True  # (the first picture makes the ring)
            self.beat()
            if idle is None or not idle():
                self._freed.acquire(timeout=WAIT_STEP)
            self.poll()
        return False

    def has_free_slot(self) -> bool:
        """Whether a picture can be handed over now, without waiting."""
        # A live input never waits on the semaphore: take what the parent posted, so the
        # count does not grow for as long as the input runs.
        while self._freed.acquire(False):
            pass
        return self._ring is None or self._ring.free_slot() is not None

    def put(self, frame: av.VideoFrame, seconds: float) -> None:
        """Scale `frame` into a free slot and report it (the caller made sure one is free)."""
        try:
            width, height = fit_box(self._box, frame.width, frame.height)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        ring = self._ring_for(width, height)
        slot = ring.free_slot()
        assert slot is not None
        # An I420 picture needs no colour conversion, nor any work at all at the source's own
        # size (reformat then hands the decoded frame back as it is).
        scaled = frame.reformat(width, height, "bgr24" if len(ring.shape) == 3 else "yuv420p")
        _copy_planes(scaled, ring.slots[slot])
        ring.hand_over(slot)
        self.report("frame", ring.number, slot, self.epoch, seconds, time.monotonic())

    def take_seek(self) -> float | None:
        """The pending seek's timeline time, now being carried out."""
        target, self.seek_to = self.seek_to, None
        return target

    def passes(self, seek: Callable[[float], float],
               play: Callable[[float | None], bool]) -> Iterator[None]:
        """A file's passes: carry out the pending seek, if any (`seek(time)` goes there and
        returns the time to start handing over from), then `play(from)`, which says whether it
        reached the end (or stopped for a seek); yields at each end, forever."""
        target: float | None = None
        while True:
            asked = self.take_seek()
            if asked is not None:
                target = seek(asked)
            if play(target):
                yield
            target = None

    def hold(self) -> None:
        """Report the end of a file that does not loop and wait, beating, for a seek."""
        self.report("ended", self.epoch)
        while self.seek_to is None:
            self.beat()
            self.poll(WAIT_STEP)

    def _ring_for(self, width: int, height: int) -> ChildRing:
        shape = picture_shape(self._spec.pixel_format, width, height)
        ring = self._ring
        if ring is not None and ring.shape == shape:
            return ring
        if ring is not None:
            # Slots of the old ring the parent still holds stay valid in its own mapping.
            ring.close()
            self._ring = None
        number, self._rings = self._rings, self._rings + 1
        try:
            ring = self._ring = ChildRing(self._token, number, shape)
        except OSError as exc:  # /dev/shm is full
            raise Refused(f"no room for {width}x{height} pictures in /dev/shm "
                          f"({exc.strerror})") from None
        self.report("ring", ring.number, shape)
        return ring

    def _apply(self, command: tuple[Any, ...]) -> None:
        if command[0] == "seek":
            self.epoch, self.seek_to = command[1], command[2]
        elif command[0] == "box":
            self._box = (command[1], command[2])


def _copy_planes(frame: av.VideoFrame, target: np.ndarray) -> None:
    """Copy the planes of `frame` (bgr24, or yuv420p for a 2-D `target`) into `target` back to
    back, leaving out FFmpeg's padding at the end of each row."""
    packed = target.reshape(-1)
    offset = 0
    for plane in frame.planes:
        row = plane.width * (3 if target.ndim == 3 else 1)
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        np.copyto(packed[offset:offset + row * plane.height].reshape(plane.height, row),
                  rows[:, :row])
        offset += row * plane.height


def open_file(spec: SourceSpec, link: Link) -> av.container.InputContainer:
    """The file at `spec.location`, opened; Refused (in words, without the path) if it cannot
    be."""
    try:
        return av.open(spec.location)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise Refused(link.explain(exc)) from None


def describe(container: av.container.InputContainer, video: av.video.stream.VideoStream,
             duration: float | None) -> dict[str, Any]:
    """The "info" report of an opened source."""
    rate = video.average_rate or video.guessed_rate
    return {
        "width": video.codec_context.width or None,
        "height": video.codec_context.height or None,
        "fps": round(float(rate), 3) if rate else None,
        "codec": video.codec_context.name,
        "audio": bool(container.streams.audio),
        "duration": duration,
    }


def open_video(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The container's first video stream, checked against the size limits before any frame
    is decoded; Refused otherwise."""
    if not container.streams.video:
        raise Refused("no video stream")
    video = container.streams.video[0]
    width, height = video.codec_context.width, video.codec_context.height
    if width and height:
        try:
            fit_box((None, None), width, height)
        except ValueError as exc:
            raise Refused(str(exc)) from None
    # FFmpeg's own guard too, for a stream whose size changes later on.
    with contextlib.suppress(AttributeError, TypeError):
        video.codec_context.options = {"max_pixels": str(MAX_PIXELS)}
    return video
