"""What a source is asked to be (SourceSpec), what it hands over (SourceFrame) and what it says
about itself (SourceStatus), plus the limits every source process keeps to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

# How pictures are handed over: BGR, or I420 for a compositor that composites in YUV.
PixelFormat = Literal["bgr24", "yuv420p"]
# The largest picture a source may decode or scale to: 4K UHD. Anything announcing more is
# refused in the source process before a frame of it is decoded.
MAX_PIXELS = 3840 * 2160
MAX_SIDE = 8192
# Sound is handed over as interleaved float32 stereo at this rate, whatever the source's.
AUDIO_RATE = 48000
AUDIO_CHANNELS = 2


@dataclass(frozen=True)
class SourceSpec:
    """A video file or a live URL, scaled to a box.

    `location` is an absolute file path or a URL, which may carry credentials: it is left out
    of repr() and never logged.
    """

    kind: Literal["file", "live"]
    location: str = field(repr=False)
    width: int | None  # the box to scale to; None: the source's own size
    height: int | None  # (one side None: that side keeps the aspect ratio)
    loop: bool = True  # files: at the end start again (the timeline keeps growing) or hold
    # What identifies the file's content (its mtime and size): a file replaced in the library
    # under the same name is a new source.
    revision: tuple[int, ...] = ()
    # "yuv420p": pictures handed over in I420 (see picture_shape), for a compositor that
    # composites in YUV; BGR otherwise.
    pixel_format: PixelFormat = "bgr24"
    # A file played for its sound alone (the bed's tracks): no video stream needed, never
    # loops, decoded only AUDIO_AHEAD beyond what the render thread has read
    # (render.sources.audio_files). `loop`, the box and the pixel format do not apply.
    audio_only: bool = False


@dataclass(frozen=True)
class SourceFrame:
    """One picture handed over by a source process."""

    seq: int  # a new number is a new picture
    # BGR uint8 (h, w, 3), or I420 (h * 3 / 2, w) if the spec asked yuv420p (picture_shape);
    # read-only: a view of a shared-memory slot, valid until a later frame() for this source
    # returns another seq.
    image: np.ndarray = field(repr=False)
    time: float  # timeline seconds (files: lap * duration + pts; live: the stream's pts)
    decoded_at: float  # time.monotonic() when the source process finished it


@dataclass(frozen=True)
class AudioChunk:
    """Sound a source process handed over: samples from timeline sample `index` on."""

    process: int  # the number of the source process that sent it
    epoch: int  # files: the seek it belongs to; live inputs: the connection
    index: int  # the first sample's timeline time, in samples (AUDIO_RATE a second)
    samples: np.ndarray = field(repr=False)  # (n, 2) float32, read-only
    arrived_at: float  # time.monotonic() when the supervisor received it

    @property
    def end(self) -> int:
        """The timeline sample after its last."""
        return self.index + len(self.samples)


@dataclass(frozen=True)
class SourceStatus:
    """What a source process reported, for layer reads and telemetry."""

    state: str  # files: opening | playing | error; live: connecting | live | error
    width: int | None  # the source's own size
    height: int | None
    fps: float | None
    codec: str | None
    audio: bool  # the source has an audio stream
    # Seconds of one lap of a file (an audio-only file: where its last sample ends, once
    # played to the end); None for live inputs.
    duration: float | None
    error: str | None
    last_frame_at: float | None  # time.monotonic() of the newest frame handed over
    restarts: int  # source processes started again after a crash, a stall or a change
    # A file that does not loop (or an audio-only file) handed over its last frame or sample
    # (until a seek).
    ended: bool = False


def fit_box(box: tuple[int | None, int | None], width: int, height: int) -> tuple[int, int]:
    """The size a `width` x `height` picture is scaled to for `box` (None sides follow the
    aspect ratio); ValueError when the picture or the box is beyond the limits."""
    check_size(width, height, "the source")
    wanted_width, wanted_height = box
    if wanted_width is None and wanted_height is None:
        return width, height
    if wanted_width is None:
        assert wanted_height is not None
        wanted_width = max(1, round(width * wanted_height / height))
    elif wanted_height is None:
        wanted_height = max(1, round(height * wanted_width / width))
    check_size(wanted_width, wanted_height, "the box")
    return wanted_width, wanted_height


def picture_shape(pixel_format: PixelFormat, width: int, height: int) -> tuple[int, ...]:
    """The array a width x height picture is handed over in: I420 for yuv420p when both sides
    are even (the Y plane, then U, then V, each plane's rows back to back: (height * 3 / 2,
    width)), BGR (height, width, 3) otherwise."""
    if pixel_format == "yuv420p" and width % 2 == 0 and height % 2 == 0:
        return (height * 3 // 2, width)
    return (height, width, 3)


def check_size(width: int, height: int, what: str) -> None:
    """ValueError naming `what` unless width x height is within MAX_PIXELS and MAX_SIDE."""
    if width < 1 or height < 1:
        raise ValueError(f"{what} has no size ({width}x{height})")
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise ValueError(f"{what} is {width}x{height}, more than the 3840x2160 a source may be")
