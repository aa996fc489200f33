"""The sender process: muxes encoded packets into one RTMP ingest or recording.

It runs in a process of its own because a connection can block inside FFmpeg for ever (an
ingest that accepts TCP and never speaks RTMP, or one that froze); only killing the process
frees it. The parent feeds packets through a pipe, one message per encode call (a video frame
and the audio that covers it, so the sender wakes once a frame), and reads short status tuples
back:
("ready",) once it has started, ("connected",), ("file", path), ("progress", handled,
packets, bytes), ("error", message), ("closed",).

A recording is cut into segments: at the first video keyframe once `segment_seconds` of the
stream went into a file, that file gets its trailer and the next one starts with the keyframe,
so every file plays on its own.

Fencing: every message carries its render process's lease deadline as the parent handed it
over (render.outputs.packets); one read past its deadline is dropped, never written, so a
sender frozen (SIGSTOP) past the lease writes nothing of what waited in its pipe when it
resumes, and since a connection opens only at a written keyframe, a sender fed stale messages
never connects either. After a dropped message it writes again only from a video keyframe of a
message in time (a sender that fell 2 s behind skips to the present instead of sending a
picture that cannot decode). It reports ("fenced", count) for the packets it dropped. A close
(or the parent's death) past the last deadline ends a network output without its trailer
(nothing more goes to the ingest); a file still gets its trailer, as it is this process's own.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import av

from core.outputs import OutputTarget
from render.encoder import EncodedPacket, StreamInfo
from render.outputs.packets import unpack
from render.outputs.segments import new_segment
from render.outputs.targets import redact

REPORT_INTERVAL = 0.25


def run_sender(target: OutputTarget, stream: StreamInfo, packets: Connection,
               status: Connection) -> None:
    """Process entry point: mux until CLOSE (or the parent goes away), then write the trailer.

    On any error it reports the redacted message and exits at once, without touching the
    failed container again (PyAV issue #613: a second trailer write can crash).
    """
    # Ctrl-C, and SIGTERM sent to the whole group (timeout(1), a container runtime), reach us
    # too; the parent decides when we stop, so the trailer gets written (or the watchdog
    # kills us with SIGKILL).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Everything this process imports is imported by now (a few hundred ms of CPU): the render
    # worker waits for this before its frame clock starts, so the two do not overlap.
    status.send(("ready",))
    muxer = Muxer(target, stream)
    try:
        deadline = _pump(packets, status, muxer)
        if target.is_file or time.monotonic() < deadline:
            muxer.close()
        status.send(("progress", muxer.handled, muxer.packets, muxer.bytes))
        status.send(("closed",))
        if muxer.open:
            # Past the lease: the connection is dropped as it is, without a trailer (exiting
            # the normal way, PyAV would write one as it frees the container).
            os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - everything is reported, then we exit
        with contextlib.suppress(OSError):
            status.send(("error", redact(f"{type(exc).__name__}: {exc}", target)))
        os._exit(1)


def _pump(packets: Connection, status: Connection, muxer: Muxer) -> float:
    """Mux what arrives until a close or the parent's death; the deadline the end came with
    (a close's own, else the last message's)."""
    reported = (0, 0.0)
    deadline = math.inf
    while True:
        if packets.poll(REPORT_INTERVAL):
            try:
                data = packets.recv_bytes()
            except EOFError:  # the parent died: finish the file or stream cleanly
                return deadline
            # Each message: one encode call's packets (a video frame and the audio that
            # covers it), or several the feeder gathered.
            deadline, batch = unpack(data)
            if batch is None:
                return deadline
            if time.monotonic() < deadline:
                _mux(batch, status, muxer)
            else:
                muxer.skip(len(batch))
                status.send(("fenced", len(batch)))
        now = time.monotonic()
        if muxer.handled != reported[0] and now - reported[1] >= REPORT_INTERVAL:
            status.send(("progress", muxer.handled, muxer.packets, muxer.bytes))
            reported = (muxer.handled, now)


def _mux(batch: list[EncodedPacket], status: Connection, muxer: Muxer) -> None:
    for packet in batch:
        was_connected, was_file = muxer.connected, muxer.file
        muxer.mux(packet)
        if muxer.file != was_file:
            status.send(("file", muxer.file))
        if muxer.connected and not was_connected:
            status.send(("connected",))


class Muxer:
    """One output container at a time; timestamps rebased so each connection, and each
    segment of a recording, starts at zero."""

    def __init__(self, target: OutputTarget, stream: StreamInfo) -> None:
        self._target = target
        self._stream = stream
        self._container: av.container.OutputContainer | None = None
        self._video_offset = 0
        self._audio_offset = 0
        # A recording's segment length in video frames (None: one file per session).
        seconds = target.segment_seconds if target.is_file else None
        self._segment_frames = seconds * stream.fps if seconds else None
        self.file: str | None = None
        self.handled = self.packets = self.bytes = 0
        # After skipped packets, nothing is written before the next video keyframe.
        self._want_keyframe = False

    @property
    def connected(self) -> bool:
        """True once the header went out (the first muxed packet is the keyframe)."""
        return self.packets > 0

    @property
    def open(self) -> bool:
        """True while a container is open (its trailer not written)."""
        return self._container is not None

    def skip(self, count: int) -> None:
        """`count` packets were dropped unwritten: write nothing more before the next video
        keyframe (what follows a gap cannot be decoded without it)."""
        self.handled += count
        self._want_keyframe = True

    def mux(self, packet: EncodedPacket) -> None:
        """Write one packet; everything before the first video keyframe (and after a skip,
        before the next) is skipped, and a recording moves to its next file at the first
        keyframe past the segment length."""
        self.handled += 1
        keyframe = packet.kind == "video" and packet.keyframe
        if keyframe and (self._container is None or self._segment_over(packet)):
            self.close()
            self._open(packet)
        if keyframe:
            self._want_keyframe = False
        if self._container is None or self._want_keyframe:
            return
        built = self._build(packet)
        if built is None:
            return
        self._container.mux(built)
        self.packets += 1
        self.bytes += len(packet.data)

    def close(self) -> None:
        """Write the trailer, once."""
        if self._container is not None:
            container, self._container = self._container, None
            container.close()

    def _segment_over(self, keyframe: EncodedPacket) -> bool:
        return (self._segment_frames is not None
                and keyframe.pts - self._video_offset >= self._segment_frames)

    def _open(self, keyframe: EncodedPacket) -> None:
        info = self._stream
        if self._target.is_file:
            self.file = str(new_segment(Path(self._target.address), self._target.name))
            address, options = self.file, {}
        else:
            address, options = self._target.address, {"flvflags": "no_duration_filesize"}
        container = av.open(address, "w", format=self._target.format,
                            container_options=options)
        self._video = container.add_mux_stream("h264", rate=info.fps, width=info.width,
                                               height=info.height)
        # The AAC encoder is never used to encode: it exists so the header carries the
        # AudioSpecificConfig (LC, 48 kHz, stereo), the same as the parent's encoder's.
        self._audio = container.add_stream("aac", rate=info.audio_rate, layout="stereo")
        self._container = container
        self._time_bases = {"video": (self._video, Fraction(1, info.fps)),
                            "audio": (self._audio, Fraction(1, info.audio_rate))}
        self._video_offset = keyframe.pts
        self._audio_offset = round(Fraction(keyframe.pts * info.audio_rate, info.fps))

    def _build(self, packet: EncodedPacket) -> av.Packet[Any] | None:
        offset = self._video_offset if packet.kind == "video" else self._audio_offset
        if packet.dts - offset < 0:
            return None  # from before this connection's (or segment's) first keyframe
        stream, time_base = self._time_bases[packet.kind]
        built = av.Packet(packet.data)
        built.stream = stream
        built.time_base = time_base
        built.pts = packet.pts - offset
        built.dts = packet.dts - offset
        built.duration = packet.duration
        built.is_keyframe = packet.keyframe
        return built
