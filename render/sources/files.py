"""A video file in its source process: decoded in order, as far ahead as free slots allow.

Playback on the program clock is the parent's business (render.sources.picking picks, for each
output slot, the frame whose time covers it). Here every frame is timed on the source's
timeline: lap * length + pts, where a lap is one pass through the file and its length is
where the last frame ends (at least the duration the file declares). At the end the file
starts again or, without `loop`, reports "ended" and holds. A seek lands on the keyframe
before the asked time and decodes forward; the first frame handed over is the one covering it.

The sound (render.sources.audio_track) is decoded from the same demux loop and timed on the
same timeline: lap start + pts - the video's start time. It runs ahead of the pictures by
what the file's interleaving gives, and at least AUDIO_LEAD beyond the picture waiting for a
slot: while it waits, the loop reads on, holding video packets back (at most MAX_HELD_PACKETS
and MAX_HELD_BYTES), so a file that stores its sound after its pictures is heard too.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator
from enum import Enum
from typing import Any

import av

from render.sources.audio_track import BATCH, AudioTrack
from render.sources.child import Link, Refused, describe, open_file, open_video
from render.sources.spec import SourceSpec

# Frame times closer than this count as equal (a timeline time computed from a frame number
# can differ from a container's pts in the last bits).
EPSILON = 1e-3
# Packets in a row that fail to decode before the file counts as undecodable.
MAX_BAD_PACKETS = 100
# Pixels a second beyond which a file is decoded with frame threads too.
FRAME_THREADS_ABOVE = 1920 * 1080 * 60
# How far beyond the picture waiting for a slot the sound is decoded, reading on and holding
# video packets back meanwhile (the render thread reads a slot's sound, 33 ms, when it shows
# the picture: with 3 pictures ahead in the ring, well-interleaved files are ahead anyway).
AUDIO_LEAD = 0.5
MAX_HELD_PACKETS = 300
MAX_HELD_BYTES = 32 * 1024 * 1024


class Stop(Enum):
    """Why a pass through the file stopped."""

    END = "end"
    SEEK = "seek"


def play_file(spec: SourceSpec, link: Link) -> None:
    """Play the file at `spec.location` until killed; Refused if it cannot play at all."""
    with open_file(spec, link) as container:
        FilePlayer(spec, link, container).run()


class FilePlayer:
    """Decodes one opened file into the link's slots, looping, holding and seeking."""

    def __init__(self, spec: SourceSpec, link: Link,
                 container: av.container.InputContainer) -> None:
        self._loop = spec.loop
        self._link = link
        self._container = container
        video = self._video = open_video(container)
        self._streams = [video, *container.streams.audio[:1]]
        audio = container.streams.audio[0] if container.streams.audio else None
        self._sound = AudioTrack(audio, link) if audio is not None else None
        # The pass's packets, and the video packets read ahead of their turn for the sound.
        self._demux: Iterator[av.Packet[Any]] | None = None
        self._held: collections.deque[av.Packet[Any]] = collections.deque()
        self._held_bytes = 0
        self._time_base = video.time_base or 1
        self._start = float(video.start_time * self._time_base) if video.start_time else 0.0
        rate = video.average_rate or video.guessed_rate
        self._frame_step = 1 / float(rate) if rate else 1 / 30
        # Frame threads cost memory (a 1080p30 source: 16 MB more) and here even CPU; only
        # beyond 1080p60 may one thread fall short of real time (1080p30: 5 ms a frame).
        pixels = (video.codec_context.width or 0) * (video.codec_context.height or 0)
        fast = pixels / self._frame_step > FRAME_THREADS_ABOVE
        video.codec_context.thread_type = "AUTO" if fast else "SLICE"
        self._length = _declared_length(container, video)
        self._lap_start = 0.0
        self._last_time = -math.inf
        self._decoded_any = False
        self._info = describe(container, video, self._length)
        link.report("info", self._info)

    def run(self) -> None:
        """Play from the start, then as the parent's seeks say; never returns."""
        for _ in self._link.passes(self._seek, lambda target: self._play(target) is Stop.END):
            if not self._decoded_any:
                raise Refused("no video frame decodes")
            if self._info["duration"] != self._length:  # the last frame ends past the duration
                self._info["duration"] = self._length
                self._link.report("info", self._info)
            if self._loop:
                self._lap_start += self._lap_length()
                self._rewind()
            else:
                self._link.hold()

    def _play(self, target: float | None) -> Stop:
        """Hand over frames until the end of the file or a seek. With a `target`, frames
        before the one covering it are decoded and passed over."""
        self._demux = self._container.demux(*self._streams)
        self._held.clear()
        self._held_bytes = 0
        if self._sound is not None:
            self._sound.restart(skip_before=target)
        held: tuple[av.VideoFrame, float] | None = None
        for frame in self._frames():
            seconds = self._time(frame)
            if target is not None:
                if seconds <= target + EPSILON:
                    held = (frame, seconds)
                    continue
                target = None
                if held is not None and not self._emit(*held):
                    return Stop.SEEK
            if not self._emit(frame, seconds):
                return Stop.SEEK
        if self._link.seek_to is not None:
            return Stop.SEEK
        if held is not None and target is not None and not self._emit(*held):
            return Stop.SEEK  # the seek went past the last frame: that one is shown
        return Stop.END

    def _frames(self) -> Iterator[av.VideoFrame]:
        bad = 0
        while (packet := self._video_packet()) is not None:
            try:
                frames = self._video.decode(packet)
            except av.FFmpegError:
                bad += 1
                if bad > MAX_BAD_PACKETS:
                    raise Refused("the video does not decode") from None
                continue
            bad = 0
            for frame in frames:
                self._decoded_any = True
                self._link.decoded()
                yield frame

    def _video_packet(self) -> av.Packet[Any] | None:
        """The next video packet (those held back first), the sound decoded on the way; None
        at the end of the pass or when a seek arrived."""
        while True:
            self._link.beat()
            self._link.poll()
            if self._link.seek_to is not None:
                return None
            if self._held:
                held = self._held.popleft()
                self._held_bytes -= held.size
                return held
            packet = self._read()
            if packet is None or packet.stream is self._video:
                return packet

    def _read(self) -> av.Packet[Any] | None:
        """The pass's next packet, its sound decoded and handed over; None at the end."""
        if self._demux is None:
            return None
        packet = next(self._demux, None)
        if packet is None:
            self._demux = None
        elif packet.stream is not self._video and self._sound is not None:
            for sound in self._sound.decode(packet, self._lap_start - self._start):
                self._sound.send(sound, BATCH)
        if packet is None and self._sound is not None:
            self._sound.flush()
        return packet

    def _read_ahead(self, seconds: float) -> bool:
        """While the picture of timeline time `seconds` waits for a slot: read one packet
        more if the sound is not AUDIO_LEAD beyond it (a video packet is held back for its
        turn); whether it did."""
        sound = self._sound
        if sound is None or sound.end >= seconds + AUDIO_LEAD:
            # (What the sound holds back starts at most a BATCH before its end: not wanted
            # before the next picture's turn.)
            return False
        if (self._demux is None or len(self._held) >= MAX_HELD_PACKETS
                or self._held_bytes >= MAX_HELD_BYTES):
            sound.flush()  # the process is about to wait, behind: what it holds back goes now
            return False
        packet = self._read()
        if packet is not None and packet.stream is self._video:
            self._held.append(packet)
            self._held_bytes += packet.size
        return packet is not None

    def _emit(self, frame: av.VideoFrame, seconds: float) -> bool:
        if not self._link.wait_for_slot(lambda: self._read_ahead(seconds)):
            return False
        self._link.put(frame, seconds)
        return True

    def _time(self, frame: av.VideoFrame) -> float:
        """The frame's timeline time; the lap's length grows to cover where it ends."""
        if frame.time is None:
            seconds = self._last_time + self._frame_step
        else:
            seconds = self._lap_start + frame.time - self._start
        self._last_time = seconds
        step = float(frame.duration * self._time_base) if frame.duration else self._frame_step
        end = seconds - self._lap_start + step
        if self._length is None or end > self._length:
            self._length = end
        return seconds

    def _lap_length(self) -> float:
        return self._length if self._length else self._frame_step

    def _seek(self, timeline: float) -> float:
        """Go to the keyframe before timeline time `timeline` (in the lap it falls in)."""
        timeline = max(0.0, timeline)
        self._lap_start = 0.0
        if self._loop and self._length:
            self._lap_start = math.floor(timeline / self._length) * self._length
        position = timeline - self._lap_start + self._start
        self._container.seek(max(0, int(position / self._time_base)), stream=self._video,
                             backward=True, any_frame=False)
        return timeline

    def _rewind(self) -> None:
        self._container.seek(max(0, int(self._start / self._time_base)), stream=self._video,
                             backward=True, any_frame=False)


def _declared_length(container: av.container.InputContainer,
                     video: av.video.stream.VideoStream) -> float | None:
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None
