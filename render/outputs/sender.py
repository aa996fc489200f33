"""The sender process: muxes encoded packets into one RTMP ingest or recording file.

It runs in a process of its own because a connection can block inside FFmpeg for ever (an
ingest that accepts TCP and never speaks RTMP, or one that froze); only killing the process
frees it. The parent feeds packets through a pipe and reads short status tuples back:
("connected",), ("progress", handled, packets, bytes), ("error", message), ("closed",).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from fractions import Fraction
from multiprocessing.connection import Connection

import av

from render.encoder import EncodedPacket, StreamInfo
from render.outputs.packets import CLOSE, unpack
from render.outputs.targets import OutputTarget, redact

REPORT_INTERVAL = 0.25


def run_sender(target: OutputTarget, stream: StreamInfo, path: str | None,
               packets: Connection, status: Connection) -> None:
    """Process entry point: mux until CLOSE (or the parent goes away), then write the trailer.

    On any error it reports the redacted message and exits at once, without touching the
    failed container again (PyAV issue #613: a second trailer write can crash).
    """
    # Ctrl-C, and SIGTERM sent to the whole group (timeout(1), a container runtime), reach us
    # too; the parent decides when we stop, so the trailer gets written (or the watchdog
    # kills us with SIGKILL).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    muxer = _Muxer(target, stream, path)
    try:
        _pump(packets, status, muxer)
        muxer.close()
        status.send(("progress", muxer.handled, muxer.packets, muxer.bytes))
        status.send(("closed",))
    except BaseException as exc:  # noqa: BLE001 - everything is reported, then we exit
        with contextlib.suppress(OSError):
            status.send(("error", redact(f"{type(exc).__name__}: {exc}", target)))
        os._exit(1)


def _pump(packets: Connection, status: Connection, muxer: _Muxer) -> None:
    reported = (0, 0.0)
    while True:
        if packets.poll(REPORT_INTERVAL):
            try:
                message = packets.recv_bytes()
            except EOFError:  # the parent died: finish the file or stream cleanly
                return
            if message == CLOSE:
                return
            was_connected = muxer.connected
            muxer.mux(unpack(message))
            if muxer.connected and not was_connected:
                status.send(("connected",))
        now = time.monotonic()
        if muxer.handled != reported[0] and now - reported[1] >= REPORT_INTERVAL:
            status.send(("progress", muxer.handled, muxer.packets, muxer.bytes))
            reported = (muxer.handled, now)


class _Muxer:
    """One output container; timestamps rebased so each connection starts at zero."""

    def __init__(self, target: OutputTarget, stream: StreamInfo, path: str | None) -> None:
        self._target = target
        self._stream = stream
        self._path = path or target.url
        self._container: av.container.OutputContainer | None = None
        self._video_offset = 0
        self._audio_offset = 0
        self.handled = self.packets = self.bytes = 0

    @property
    def connected(self) -> bool:
        """True once the header went out (the first muxed packet is the keyframe)."""
        return self.packets > 0

    def mux(self, packet: EncodedPacket) -> None:
        """Write one packet; everything before the first video keyframe is skipped."""
        self.handled += 1
        if self._container is None:
            if packet.kind != "video" or not packet.keyframe:
                return
            self._open(packet)
        built = self._build(packet)
        if built is None:
            return
        assert self._container is not None
        self._container.mux(built)
        self.packets += 1
        self.bytes += len(packet.data)

    def close(self) -> None:
        """Write the trailer, once."""
        if self._container is not None:
            container, self._container = self._container, None
            container.close()

    def _open(self, keyframe: EncodedPacket) -> None:
        info = self._stream
        options = {"flvflags": "no_duration_filesize"} if self._target.format == "flv" else {}
        if self._target.is_file:
            os.makedirs(os.path.dirname(self._path) or ".", exist_ok=True)
        container = av.open(self._path, "w", format=self._target.format,
                            container_options=options)
        self._video = container.add_mux_stream("h264", rate=info.fps, width=info.width,
                                               height=info.height)
        # The AAC encoder is never used to encode: it exists so the header carries the
        # AudioSpecificConfig (LC, 48 kHz, stereo), the same as the parent's encoder's.
        self._audio = container.add_stream("aac", rate=info.audio_rate, layout="stereo")
        self._container = container
        self._video_offset = keyframe.pts
        self._audio_offset = round(Fraction(keyframe.pts * info.audio_rate, info.fps))

    def _build(self, packet: EncodedPacket) -> av.Packet | None:
        if packet.kind == "video":
            offset, stream, rate = self._video_offset, self._video, self._stream.fps
        else:
            offset, stream, rate = self._audio_offset, self._audio, self._stream.audio_rate
        if packet.dts - offset < 0:
            return None  # from before this connection's first keyframe
        built = av.Packet(packet.data)
        built.stream = stream
        built.time_base = Fraction(1, rate)
        built.pts = packet.pts - offset
        built.dts = packet.dts - offset
        built.duration = packet.duration
        built.is_keyframe = packet.keyframe
        return built
