"""Short test clips written with PyAV, each frame's index readable back from its pixels.

A frame shows its index in binary: the picture is cut into BITS columns, column k white when
bit k of the index is set, black otherwise. Whole columns survive H.264 and any scaling, so
`picture_number` reads the index of a decoded (and resized) frame exactly::

    clip = write_clip(tmp_path / "c25.mp4", fps=25, seconds=3)
    clip.index_at(1.0)                  # 25: the frame whose time covers 1.0 s
    picture_number(decoded_bgr_image)   # the index drawn into it
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy

BITS = 10  # up to 1024 frames
WIDTH, HEIGHT = 320, 180
# Variable frame rate: runs of 10 frames 20 ms apart, then 10 frames 70 ms apart (50 fps and
# about 14 fps), so a 30 fps program shows some frames twice and skips others.
VFR_STEPS = (0.02, 0.07)


@dataclass(frozen=True)
class Clip:
    """A written clip: where, its size and each frame's presentation time in seconds."""

    path: Path
    width: int
    height: int
    times: tuple[float, ...]
    duration: float  # where the last frame ends

    def index_at(self, seconds: float) -> int:
        """The index of the frame whose time covers `seconds` (the last one past the end)."""
        return max(0, bisect.bisect_right(self.times, seconds + 1e-6) - 1)


def numbered_picture(index: int, width: int = WIDTH, height: int = HEIGHT) -> numpy.ndarray:
    """A BGR picture showing `index` in binary (column k white when bit k is set)."""
    picture = numpy.zeros((height, width, 3), numpy.uint8)
    edges = numpy.linspace(0, width, BITS + 1).astype(int)
    for bit in range(BITS):
        if index >> bit & 1:
            picture[:, edges[bit]:edges[bit + 1]] = 255
    return picture


def picture_number(image: numpy.ndarray) -> int:
    """The index `numbered_picture` drew into `image` (BGR, any size)."""
    height, width = image.shape[:2]
    row = image[height // 2]
    index = 0
    for bit in range(BITS):
        centre = int((bit + 0.5) * width / BITS)
        if int(row[centre].mean()) > 127:
            index |= 1 << bit
    return index


def write_clip(path: Path, fps: int, seconds: float, width: int = WIDTH,
               height: int = HEIGHT) -> Clip:
    """A constant frame rate H.264 clip (mp4, mkv or webm by the name), a keyframe a second."""
    count = round(fps * seconds)
    return _write(path, [i / fps for i in range(count)], fps, width, height)


def write_vfr_clip(path: Path, seconds: float = 2.5, width: int = WIDTH,
                   height: int = HEIGHT) -> Clip:
    """A variable frame rate H.264 clip (millisecond timestamps, steps of VFR_STEPS)."""
    times: list[float] = []
    now = 0.0
    while now < seconds:
        times.append(round(now, 3))
        now += VFR_STEPS[(len(times) - 1) // 10 % 2]
    return _write(path, times, 30, width, height, time_base=Fraction(1, 1000))


def _write(path: Path, times: Sequence[float], fps: int, width: int, height: int,
           time_base: Fraction | None = None) -> Clip:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={
            "preset": "veryfast", "crf": "16", "g": str(fps), "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
            stream.time_base = time_base
        for index, seconds in enumerate(times):
            frame = av.VideoFrame.from_ndarray(numbered_picture(index, width, height),
                                               format="bgr24")
            if time_base is None:
                frame.pts = index
            else:
                frame.pts = round(seconds / time_base)
                frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    last_step = times[-1] - times[-2] if len(times) > 1 else 1 / fps
    return Clip(path, width, height, tuple(times), times[-1] + last_step)


def write_huge_clip(path: Path, width: int = 4096, height: int = 2304) -> Clip:
    """Three black frames of a size beyond what a source may decode (4096x2304 > 3840x2160)."""
    black = numpy.zeros((height, width, 3), numpy.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(black, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return Clip(path, width, height, (0.0, 1 / 30, 2 / 30), 0.1)
