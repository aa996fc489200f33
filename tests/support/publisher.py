"""A test camera: pushes numbered pictures (tests.support.clips) to an RTMP URL in real time.

It runs in a process of its own so a test can kill it (SIGKILL, a pulled cable) or freeze it
(SIGSTOP) like a real encoder::

    publisher = Publisher(server.url("cam"), tmp_path / "cam.log").start()
    publisher.freeze(); publisher.thaw(); publisher.kill()

Run by hand: `python -m tests.support.publisher rtmp://127.0.0.1:1935/live/cam [fps] [beep]`.
H.264 (veryfast, zerolatency, a keyframe every half second), 320x180, and AAC: silence, or
with `beep=True` a 1 kHz beep of BEEP_SECONDS at each whole second of the stream, starting
with the picture whose number is a multiple of the frame rate (an A/V sync marker).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import av
import numpy

from tests.support.clips import HEIGHT, WIDTH, numbered_picture
from tests.support.processes import Process

AUDIO_RATE = 48000
BEEP_SECONDS = 0.1


class Publisher:
    """`python -m tests.support.publisher URL FPS [beep]` as a child process."""

    def __init__(self, url: str, log_path: Path, fps: int = 30, beep: bool = False) -> None:
        self._process = Process([sys.executable, "-m", "tests.support.publisher", url,
                                 str(fps), *(["beep"] if beep else [])], log_path,
                                cwd=Path(__file__).resolve().parents[2])

    def start(self) -> Publisher:
        """Start publishing (the stream shows up after the interpreter's start, about 0.5 s)."""
        self._process.start()
        return self

    def kill(self) -> None:
        """kill -9: the connection drops without an unpublish."""
        self._process.stop(signum=signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP: the connection stays open and nothing more is sent."""
        self._process.send(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after `freeze`."""
        self._process.send(signal.SIGCONT)

    def stop(self) -> None:
        """Stop it, frozen or not."""
        self.thaw()
        self.kill()


def beep_samples(first: int, count: int) -> numpy.ndarray:
    """Samples `first` to `first + count` of the beep track: (2, count) float32 planes, a
    1 kHz sine at 0.5 for the first BEEP_SECONDS of every second, silence otherwise."""
    index = numpy.arange(first, first + count)
    seconds = (index % AUDIO_RATE) / AUDIO_RATE
    tone = numpy.where(seconds < BEEP_SECONDS, 0.5 * numpy.sin(2 * numpy.pi * 1000 * seconds),
                       0.0)
    return numpy.stack([tone, tone]).astype(numpy.float32)


def publish(url: str, fps: int, beep: bool = False) -> None:
    """Push frames to `url` at `fps` until killed."""
    container = av.open(url, "w", format="flv")
    video = container.add_stream("libx264", rate=fps, options={
        "preset": "veryfast", "tune": "zerolatency", "g": str(max(1, fps // 2))})
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
    step = AUDIO_RATE // fps
    silence = numpy.zeros((2, step), numpy.float32)
    started = time.monotonic()
    index = 0
    while True:
        picture = av.VideoFrame.from_ndarray(numbered_picture(index), format="bgr24")
        picture.pts = index
        samples = beep_samples(index * step, step) if beep else silence
        sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
        sound.sample_rate, sound.pts = AUDIO_RATE, index * step
        for packet in [*video.encode(picture), *audio.encode(sound)]:
            container.mux(packet)
        index += 1
        time.sleep(max(0.0, started + index / fps - time.monotonic()))


if __name__ == "__main__":
    publish(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30,
            beep=sys.argv[3:4] == ["beep"])
