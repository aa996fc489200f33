"""Sound for the program audio tests: a clip with a steady tone, what a recording holds, where
beeps start, and loudness measured by an independent meter: FFmpeg's own `ebur128` filter
(its BS.1770 implementation, not the libebur128 the program's meter uses), run in-process
through PyAV's libavfilter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.filter import Graph

RATE = 48_000


def write_tone_clip(path: Path, seconds: float, frequency: float = 1000.0,
                    amplitude: float = 0.5, fps: int = 30) -> None:
    """A grey 320x180 H.264 clip with a steady stereo sine (AAC): a layer that is mid-beep
    whenever it is cut."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = container.add_stream("aac", rate=RATE, layout="stereo")
        grey = np.full((180, 320, 3), 128, np.uint8)
        for _ in range(round(seconds * fps)):
            for packet in video.encode(av.VideoFrame.from_ndarray(grey, format="bgr24")):
                container.mux(packet)
        times = np.arange(round(seconds * RATE)) / RATE
        tone = (amplitude * np.sin(2 * np.pi * frequency * times)).astype(np.float32)
        stereo = np.stack([tone, tone])
        for start in range(0, len(times), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, start:start + 1024]),
                                               format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


@dataclass(frozen=True)
class Recorded:
    """What a recording holds: each video frame's pts, each audio packet's pts and duration
    (seconds), the decoded sound ((n, 2) float32 from the first audio pts on) and, when asked,
    what a `measure` found in each decoded picture, by pts."""

    video_pts: list[float]
    audio_packets: list[tuple[float, float]]
    sound: np.ndarray = field(repr=False)
    sound_start: float
    video_measured: list[tuple[float, Any]]

    @property
    def video_duration(self) -> float:
        step = float(np.median(np.diff(self.video_pts))) if len(self.video_pts) > 1 else 0.0
        return self.video_pts[-1] + step - self.video_pts[0]

    @property
    def audio_duration(self) -> float:
        first, last = self.audio_packets[0], self.audio_packets[-1]
        return last[0] + last[1] - first[0]

    def audio_gaps(self, tolerance: float = 0.0015) -> list[float]:
        """Where one audio packet does not start where the one before ended."""
        return [b[0] for a, b in zip(self.audio_packets, self.audio_packets[1:], strict=False)
                if abs(b[0] - (a[0] + a[1])) > tolerance]


def read_recording(path: Path, measure: Callable[[np.ndarray], Any] | None = None) -> Recorded:
    """Demux and decode `path` (the first video and audio streams; the pictures only for
    `measure`)."""
    video_pts: list[float] = []
    measured: list[tuple[float, Any]] = []
    packets: list[tuple[float, float]] = []
    chunks: list[np.ndarray] = []
    start: float | None = None
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        for packet in container.demux(video, audio):
            if packet.pts is None:
                continue
            if packet.stream is video:
                video_pts.append(float(packet.pts * packet.time_base))
                if measure is not None:
                    measured += [(float(frame.time or 0.0), measure(frame.to_ndarray(
                        format="bgr24"))) for frame in packet.decode()]
                continue
            packets.append((float(packet.pts * packet.time_base),
                            float((packet.duration or 0) * packet.time_base)))
            for frame in packet.decode():
                if start is None:
                    start = float(frame.time or 0.0)
                chunks.append(frame.to_ndarray().T.astype(np.float32))
    video_pts.sort()
    return Recorded(video_pts, packets, np.concatenate(chunks), start or 0.0, measured)


def placed(records: list[tuple[float, np.ndarray]]) -> tuple[np.ndarray, float]:
    """Decoded frames ((pts, (n, 2) samples)) laid out on their own timestamps, silence where
    none was decoded (a packet lost on the way would otherwise shift all that follows); the
    sound and the time of its first sample."""
    start = records[0][0]
    end = max(pts + len(samples) / RATE for pts, samples in records)
    sound = np.zeros((round((end - start) * RATE) + 1, 2), np.float32)
    for pts, samples in records:
        index = round((pts - start) * RATE)
        sound[index:index + len(samples)] = samples[:len(sound) - index]
    return sound, start


def onsets(sound: np.ndarray, start: float, threshold: float, quiet: float = 0.5) -> list[float]:
    """Times (s) where |sound| first exceeds `threshold` after at least `quiet` s below it."""
    loud = np.flatnonzero(np.abs(sound).max(axis=1) > threshold)
    if not len(loud):
        return []
    firsts = [loud[0], *loud[1:][np.diff(loud) > quiet * RATE]]
    return [start + int(index) / RATE for index in firsts]


def ffmpeg_ebur128(samples: np.ndarray) -> dict[str, float]:
    """FFmpeg's `ebur128=peak=true` after the whole (n, 2) float32 signal: M, S, I (LUFS) at
    its end and the true peak over all of it (dBTP)."""
    graph = Graph()
    source = graph.add_abuffer(format="flt", sample_rate=RATE, layout="stereo",
                               time_base=Fraction(1, RATE))
    meter = graph.add("ebur128", "metadata=1:peak=true")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last = None
    for start in range(0, len(samples), 4800):  # FFmpeg updates its readings every 100 ms
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[start:start + 4800]).reshape(1, -1), format="flt",
            layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
        graph.push(frame)
        while True:
            try:
                last = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
    assert last is not None
    metadata = last.metadata
    reading = {key: float(metadata[f"lavfi.r128.{key}"]) for key in ("M", "S", "I")}
    reading["true_peak"] = 20 * np.log10(float(metadata["lavfi.r128.true_peak"]))
    return reading



def dbfs(samples: np.ndarray) -> float:
    """The sample peak of `samples` in dBFS (-inf for digital silence)."""
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")
