"""A source's sound in its process: decoded, resampled and handed over on the report pipe.

The first audio stream of a file or live input is decoded and converted by an
`av.AudioResampler` to interleaved float32 stereo at 48 kHz, whatever the source's rate,
layout and sample format, and each resampled frame is reported as it comes:

    ("audio", epoch, seconds, samples)   samples: the chunk's bytes, `seconds`: the timeline
                                         time of its first sample

Chunks go over the pipe, not through shared memory like pictures: a chunk is 1024 samples of
8 bytes (8 KB, 21 ms of AAC), about 47 a second, which a pipe carries in microseconds and
without a ring's bookkeeping (render.sources.audio_buffer keeps them on the parent's side).
Files, which decode ahead, send their chunks BATCH samples at a time (joined), so the
supervisor thread wakes for sound about 12 times a second instead of 47; a live input sends
each chunk as it comes.

Times are sample-exact within a pass through the source: a chunk that starts within SNAP of
where the previous one ended continues it exactly. The resampler's own times follow the
container's, and containers with millisecond timestamps (FLV, Matroska) put 1024-sample frames
up to half a millisecond off, which would repeat or drop a few samples at every joint.
A packet that does not decode is counted and passed over: the sound never stops the pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import av

from render.sources.child import Link
from render.sources.spec import AUDIO_CHANNELS, AUDIO_RATE

# A chunk starting this close to where the previous one ended continues it.
SNAP = 0.01
# Samples of sound a file's process sends in one report (4 AAC frames, 85 ms).
BATCH = 4096


@dataclass(frozen=True)
class Sound:
    """A resampled chunk, ready to be reported."""

    seconds: float  # the timeline time of its first sample
    count: int  # samples (per channel)
    data: bytes  # interleaved float32 stereo

    @property
    def end(self) -> float:
        """The timeline time after its last sample."""
        return self.seconds + self.count / AUDIO_RATE


class AudioTrack:
    """Decodes one audio stream into Sounds on the source's timeline."""

    def __init__(self, stream: av.audio.stream.AudioStream, link: Link) -> None:
        self._stream = stream
        self._link = link
        self._resampler: av.AudioResampler | None = None
        # The pass's continuous run of samples: its first sample's time and samples since.
        self._anchor: float | None = None
        self._count = 0
        self._skip_before: float | None = None
        self._pending: list[Sound] = []  # decoded, contiguous, not yet sent
        self.end = -math.inf  # where the newest chunk handed out ends (timeline seconds)
        self.bad = 0  # packets or frames that did not decode or convert
        self.decoded_any = False

    def restart(self, skip_before: float | None = None) -> None:
        """A new pass (a seek, a loop, a connection): nothing continues the previous chunks;
        with `skip_before`, chunks that end before that time are left out (a seek lands on
        the packet before the asked time)."""
        self._resampler = None
        self._anchor = None
        self._count = 0
        self._skip_before = skip_before
        self._pending.clear()  # of the pass before: not wanted any more
        self.end = -math.inf

    def decode(self, packet: av.Packet[Any], offset: float) -> list[Sound]:
        """The chunks `packet` decodes to, timed `offset` + the frame's time (an empty packet,
        the container's end, flushes the decoder and the resampler)."""
        try:
            frames = self._stream.decode(packet)
        except (av.FFmpegError, ValueError):
            self.bad += 1
            return []
        sounds = [sound for frame in frames for sound in self._convert(frame, offset)]
        if packet.size == 0:
            sounds += self._convert(None, offset)
        return sounds

    def send(self, sound: Sound, batch: int = 0) -> None:
        """Report `sound` with the link's epoch, joined with the sounds sent before it until
        they make `batch` samples (see flush)."""
        pending = self._pending
        if pending and abs(sound.seconds - pending[-1].end) > 1e-6:
            self.flush()  # not contiguous: a chunk of its own
        pending.append(sound)
        if sum(each.count for each in pending) >= batch:
            self.flush()

    def flush(self) -> None:
        """Report the sounds `send` holds back, as one chunk."""
        pending = self._pending
        if pending:
            data = pending[0].data if len(pending) == 1 else b"".join(
                each.data for each in pending)
            self._link.report("audio", self._link.epoch, pending[0].seconds, data)
            pending.clear()

    def _convert(self, frame: av.AudioFrame | None, offset: float) -> list[Sound]:
        if self._resampler is None:
            if frame is None:
                return []
            self._resampler = av.AudioResampler(format="flt", layout="stereo",
                                                rate=AUDIO_RATE)
        try:
            converted = self._resampler.resample(frame)
        except (av.FFmpegError, ValueError):
            # ValueError: the stream changed its rate, layout or format; a resampler is made
            # for the new one (the few samples the old one held are lost).
            self.bad += 1
            self._resampler = None
            return []
        if frame is None:
            self._resampler = None  # flushed: it takes no more frames
        sounds = []
        for each in converted:
            sound = self._timed(each, offset)
            if sound is not None:
                sounds.append(sound)
        return sounds

    def _timed(self, frame: av.AudioFrame, offset: float) -> Sound | None:
        count = frame.samples
        if count == 0:
            return None
        if frame.pts is not None and frame.time_base is not None:
            seconds = offset + float(frame.pts * frame.time_base)
            if self._anchor is None or abs(seconds - self._next()) > SNAP:
                self._anchor, self._count = seconds, 0
        elif self._anchor is None:
            return None  # no time to go by
        seconds = self._next()
        self._count += count
        end = seconds + count / AUDIO_RATE
        if self._skip_before is not None:
            if end <= self._skip_before:
                return None
            self._skip_before = None
        data = frame.to_ndarray().tobytes()
        if len(data) != count * AUDIO_CHANNELS * 4:
            self.bad += 1
            return None
        self.decoded_any = True
        self.end = end
        return Sound(seconds, count, data)

    def _next(self) -> float:
        assert self._anchor is not None
        return self._anchor + self._count / AUDIO_RATE
