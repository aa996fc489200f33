"""A live input in its source process: connect, decode, hand over, and reconnect by itself.

Every wait is bounded: PyAV's `timeout=` frees `av.open` and each read from a peer that stops
answering (ExitError, docs/field-notes.md), and the heartbeat allows for exactly that wait, so
the parent's watchdog only kills a process stuck beyond it. After a failure the next attempt
waits 0.5 s doubling to 10 s (with jitter); a connection that delivered frames starts the
doubling again. A picture that finds no free slot (the render worker is behind) is dropped:
a live input is never held back, so the parent only ever sees the newest frames.
The sound is decoded from the same demux loop (render.sources.audio_track), timed by the
stream's own timestamps like the pictures, and never dropped here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import av

from render.backoff import Backoff
from render.sources.audio_track import AudioTrack
from render.sources.child import BEAT_SECONDS, Link, Refused, describe, open_video
from render.sources.spec import SourceSpec

OPEN_TIMEOUT = 5.0
READ_TIMEOUT = 3.0
# HLS fetches a segment of a few seconds at a time: a read may wait that long for the next.
HTTP_READ_TIMEOUT = 10.0
# FLV announces its streams as packets arrive; a second of probing finds video and audio
# without holding the first picture back much longer than the next keyframe.
OPEN_OPTIONS = {"analyzeduration": "1000000"}
# Packets in a row that fail to decode before the connection counts as broken.
MAX_BAD_PACKETS = 100


def pull_live(spec: SourceSpec, link: Link) -> None:
    """Pull the URL at `spec.location` until killed."""
    LiveInput(spec, link).run()


class LiveInput:
    """One live URL, reconnected forever."""

    def __init__(self, spec: SourceSpec, link: Link) -> None:
        self._url = spec.location
        self._link = link
        self._backoff = Backoff(0.5, 10.0)
        http = spec.location.lower().startswith(("http://", "https://"))
        self._read_timeout = HTTP_READ_TIMEOUT if http else READ_TIMEOUT
        self._state: tuple[str, str | None] | None = None

    def run(self) -> None:
        """Connect, pull until the input fails, wait, again; never returns."""
        while True:
            # Frames of each connection carry its number: the parent's jitter buffer starts
            # afresh, as the new connection's timestamps have nothing to do with the old.
            self._link.epoch += 1
            if self._pull():
                self._backoff.reset()
            self._link.sleep(self._backoff.next())

    def _pull(self) -> bool:
        """One connection; whether frames flowed on it."""
        flowed = opened = False
        self._report("connecting", self._state[1] if self._state else None)
        # av.open may wait OPEN_TIMEOUT to connect and again to find the streams.
        self._link.beat(2 * OPEN_TIMEOUT + BEAT_SECONDS)
        try:
            with av.open(self._url, options=OPEN_OPTIONS,
                         timeout=(OPEN_TIMEOUT, self._read_timeout)) as container:
                opened = True
                video = open_video(container)
                # Slice threads only: frame threads hold pictures back, which is latency.
                video.codec_context.thread_type = "SLICE"
                self._link.report("info", describe(container, video, None))
                for frame in self._frames(container, video):
                    if self._link.has_free_slot():
                        self._link.put(frame, time.monotonic() if frame.time is None
                                       else frame.time)
                    if not flowed:
                        flowed = True
                        self._report("live", None)
            self._report("connecting", "the stream ended")
        except Refused as exc:
            self._report("error", str(exc))
        except av.ExitError:  # PyAV's timeout= ended the wait
            waited = self._read_timeout if opened else OPEN_TIMEOUT
            self._report("connecting", f"no data for {waited:g} s")
        except Exception as exc:  # noqa: BLE001 - whatever a peer sends, the input retries
            self._report("connecting", self._link.explain(exc))
        return flowed

    def _frames(self, container: av.container.InputContainer,
                video: av.video.stream.VideoStream) -> Iterator[av.VideoFrame]:
        bad = 0
        audio = container.streams.audio[0] if container.streams.audio else None
        sound = AudioTrack(audio, self._link) if audio is not None else None
        for packet in container.demux(video, *container.streams.audio[:1]):
            self._link.beat(self._read_timeout + BEAT_SECONDS)
            self._link.poll()
            if packet.stream is not video:
                if sound is not None:
                    for each in sound.decode(packet, 0.0):
                        sound.send(each)
                continue
            try:
                frames = video.decode(packet)
            except av.FFmpegError:
                bad += 1
                if bad > MAX_BAD_PACKETS:
                    raise
                continue
            bad = 0
            for frame in frames:
                self._link.decoded()
                yield frame

    def _report(self, state: str, error: str | None) -> None:
        if (state, error) != self._state:
            self._state = (state, error)
            self._link.report("state", state, error)
