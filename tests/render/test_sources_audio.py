"""Sources' sound with real source processes: bg.mp4 (a 1 kHz beep at each whole second,
with its white square), bed.m4a (20 s of noise, audio only) and a beeping test camera through
a real nginx-rtmp. What the render thread reads is compared sample for sample with the file
decoded straight by PyAV."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy
import pytest

from render.sources import SourceSpec
from render.sources.audio_files import AUDIO_AHEAD
from tests.support.clips import picture_number, write_clip
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.processes import wait_until
from tests.support.publisher import BEEP_SECONDS, Publisher
from tests.support.timed_sources import TimedSources, cameras, closed_sources

RATE = 48000
PROGRAM_FPS = 30
SLOT = RATE // PROGRAM_FPS  # the samples of one program frame
LOUD = 0.25  # the beeps are sines at 0.5; bg.mp4's tone between them at 0.03


@pytest.fixture
def sources() -> Iterator[TimedSources]:
    """Sources, closed after the test; nothing of theirs is left in /dev/shm."""
    yield from closed_sources()


@pytest.fixture
def camera(nginx_rtmp: NginxRtmp, tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    """Factory of test cameras publishing to `nginx_rtmp`; all are stopped after the test."""
    yield from cameras(nginx_rtmp, tmp_path)


@pytest.fixture(scope="module")
def straight(media_assets: Path) -> dict[str, list[numpy.ndarray]]:
    """bg.mp4's and bed.m4a's sound decoded straight through PyAV, as the sources convert it:
    the whole file, then again after a seek back to the start (a loop). FFmpeg's AAC decoder
    gives its first 5,700 samples after a seek slightly otherwise (0.002 at most) than a
    fresh decoder does."""
    return {name: decode(media_assets / name, laps=2) for name in ("bg.mp4", "bed.m4a")}


def decode(path: Path, laps: int) -> list[numpy.ndarray]:
    decoded = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for _ in range(laps):
            resampler = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
            chunks = [each.to_ndarray().reshape(-1, 2) for frame in container.decode(stream)
                      for each in resampler.resample(frame)]
            decoded.append(numpy.concatenate(chunks))
            container.seek(0)
    return decoded


def bg_spec(media_assets: Path) -> SourceSpec:
    return SourceSpec("file", str(media_assets / "bg.mp4"), 320, 180)


def covering(position: float) -> Callable[..., bool]:
    """Check: the frame shown covers `position` (bg.mp4 is 30 fps)."""
    return lambda frame: position - 1 / 30 - 1e-3 < frame.time <= position + 1e-3


def onset(samples: numpy.ndarray) -> int | None:
    """The first sample of a beep in `samples`."""
    loud = numpy.flatnonzero(numpy.abs(samples[:, 0]) > LOUD)
    return int(loud[0]) if len(loud) else None


def heard(samples: numpy.ndarray | None) -> bool:
    """Whether every sample of a read of noise came (none is left a zero)."""
    return samples is not None and bool(samples.all())


def test_each_beep_of_a_video_starts_on_its_whole_second(
        sources: TimedSources, media_assets: Path) -> None:
    sources.sync({"bg": bg_spec(media_assets)})
    for second in (1, 2, 3, 9, 11):  # 9 and 11: seeks, the second into the next lap
        start = second - 0.05
        sources.frame_until("bg", start, covering(start))
        sources.frame_until("bg", start + 0.2, covering(start + 0.2))  # its sound is in
        samples = sources.audio("bg", start, 4800)
        assert samples is not None and samples.shape == (4800, 2)
        assert samples.dtype == numpy.float32
        found = onset(samples)
        assert found is not None, second
        error = start + found / RATE - second
        assert abs(error) < 0.001, (second, error)
        print(f"beep at {second} s: {error * 1000:+.3f} ms")
    sources.check_calls()


def test_reads_follow_seeks_and_run_on_without_a_gap_across_the_loop(
        sources: TimedSources, media_assets: Path,
        straight: dict[str, list[numpy.ndarray]]) -> None:
    first_lap, next_lap = straight["bg.mp4"]
    lap = 10 * RATE  # where the picture's lap ends (the sound goes on 256 samples: cut)
    sources.sync({"bg": bg_spec(media_assets)})
    sources.frame_until("bg", 1.0, covering(1.0))
    for begin, slots in ((9.0, 60), (0.5, 15)):  # a seek ahead, across the loop; one back
        asked = time.monotonic()
        sources.frame_until("bg", begin, covering(begin))
        read = []
        for slot in range(slots):
            position = begin + slot / PROGRAM_FPS
            sources.frame_until("bg", position + 0.2, covering(position + 0.2))
            samples = sources.audio("bg", position, SLOT)
            assert samples is not None
            read.append(samples)
            if slot == 0:
                print(f"sound at {begin} s {time.monotonic() - asked:.3f} s after the seek")
        first = round(begin * RATE)
        wanted = numpy.concatenate([first_lap[:lap], next_lap])[first:first + slots * SLOT]
        numpy.testing.assert_array_equal(numpy.concatenate(read), wanted)
    print(sources.check_calls())


def test_broken_sound_costs_its_samples_not_the_pictures(
        sources: TimedSources, media_assets: Path, tmp_path: Path) -> None:
    broken = break_sound(media_assets / "bg.mp4", tmp_path / "broken.mp4", seconds=3.0)
    sources.sync({"broken": SourceSpec("file", str(broken), 320, 180, loop=False)})
    heard = []
    for slot in range(0, 84, 3):
        position = slot / PROGRAM_FPS
        sources.frame_until("broken", position + 0.2, covering(position + 0.2))
        samples = sources.audio("broken", position, 3 * SLOT)
        assert samples is not None
        heard.append(samples)
    sound = numpy.concatenate(heard)
    silent = numpy.abs(sound[:, 0]).reshape(-1, 256).max(axis=1) == 0
    print(f"{silent.mean():.0%} silence, where a quarter of the AAC frames is garbage")
    assert 0.1 < silent.mean() < 0.5
    status = sources.status("broken")
    assert (status.state, status.restarts) == ("playing", 0)


def break_sound(path: Path, target: Path, seconds: float) -> Path:
    """The first `seconds` of `path` with every fourth audio packet replaced by garbage."""
    noise = numpy.random.default_rng(3)
    with av.open(str(path)) as source, av.open(str(target), "w") as copy:
        streams = {each.type: copy.add_stream_from_template(each)
                   for each in (source.streams.video[0], source.streams.audio[0])}
        audio_packets = 0
        for packet in source.demux():
            if packet.dts is None or packet.pts * packet.time_base > seconds:
                continue
            kind = packet.stream.type
            if kind == "audio":
                audio_packets += 1
                if audio_packets % 4 == 0:
                    garbage = av.Packet(noise.integers(0, 256, packet.size, numpy.uint8).tobytes())
                    garbage.pts, garbage.dts = packet.pts, packet.dts
                    garbage.time_base = packet.time_base
                    packet = garbage
            packet.stream = streams[kind]
            copy.mux(packet)
    return target


def test_a_file_without_sound_reads_none(sources: TimedSources, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "silent.mp4", 25, 1)
    sources.sync({"clip": SourceSpec("file", str(clip.path), None, None)})
    sources.frame_until("clip", 0.5, lambda frame: picture_number(frame.image) == 12)
    assert sources.audio("clip", 0.5, SLOT) is None
    assert sources.audio("nothing", 0.5, SLOT) is None
    assert sources.status("clip").audio is False


def test_an_audio_only_file_plays_in_its_own_group_keeps_ahead_and_ends(
        sources: TimedSources, media_assets: Path,
        straight: dict[str, list[numpy.ndarray]]) -> None:
    bed = {"bed0": SourceSpec("file", str(media_assets / "bed.m4a"), None, None,
                              audio_only=True)}
    sources.sync({"bg": bg_spec(media_assets)})
    sources.sync(bed, group="bed")
    sources.sync({})  # the layers' group: the bed plays on
    with pytest.raises(ValueError):
        sources.sync({"bed0": bed["bed0"]})  # a key belongs to one group
    wait_until(lambda: heard(sources.audio("bed0", 0.0, SLOT)), 10, "the bed's sound")
    status = sources.status("bed0")
    assert (status.state, status.audio, status.codec, status.duration, status.ended) == (
        "playing", True, "aac", 20.0, False)
    numpy.testing.assert_array_equal(sources.audio("bed0", 0.0, SLOT),
                                     straight["bed.m4a"][0][:SLOT])

    # Read up to 1/30 s, the process decodes up to AUDIO_AHEAD beyond and waits there ...
    wait_until(lambda: time.monotonic() - (sources.status("bed0").last_frame_at or 0) > 0.3,
               5, "the bed's process to wait")
    beyond = AUDIO_AHEAD + 0.1
    samples = sources.audio("bed0", beyond, SLOT)
    assert samples is not None and not samples.any()
    # ... until the render thread reads on.
    wait_until(lambda: heard(sources.audio("bed0", beyond, SLOT)), 2, "the bed to go on")

    # A seek near the end: the sound follows, then silence, and the process says it ended.
    sources.audio("bed0", 19.0, SLOT)
    wait_until(lambda: sources.status("bed0").ended, 5, "the bed's end")
    read = numpy.concatenate([sources.audio("bed0", 19.0 + slot / PROGRAM_FPS, SLOT)
                              for slot in range(45)])
    wanted = straight["bed.m4a"][0][19 * RATE:]  # to where the last AAC frame ends (20.01 s)
    numpy.testing.assert_array_equal(read[:len(wanted)], wanted)
    assert not read[len(wanted):].any()
    status = sources.status("bed0")
    assert status.duration == pytest.approx(19 + len(wanted) / RATE)
    assert status.restarts == 0
    print(sources.check_calls())


def test_a_live_inputs_sound_arrives_with_its_pictures(
        sources: TimedSources, nginx_rtmp: NginxRtmp, camera: Callable[..., Publisher]) -> None:
    camera("cam", beep=True)
    sources.sync({"cam": SourceSpec("live", nginx_rtmp.url("cam"), None, None)})
    wait_until(lambda: sources.frame("cam") is not None, 10, "the camera's first frame")
    shown, heard = [], []
    began, first_heard = time.monotonic(), None
    for slot in range(126):  # 4.2 s of program frames
        time.sleep(max(0.0, began + slot / PROGRAM_FPS - time.monotonic()))
        frame = sources.frame("cam")
        samples = sources.audio("cam", None, SLOT)
        assert frame is not None
        shown.append(picture_number(frame.image))
        if samples is not None and first_heard is None:
            first_heard = slot * SLOT
        heard.append(samples if samples is not None else numpy.zeros((SLOT, 2), numpy.float32))
    assert first_heard is not None, "no sound"
    sound = numpy.concatenate(heard)
    loud = numpy.abs(sound[:, 0]) > LOUD
    # A beep's start: loud after half a second of quiet (heard: not a beep read from its middle).
    starts = [i for i in numpy.flatnonzero(loud)
              if i >= first_heard + RATE // 2 and not loud[i - RATE // 2:i].any()]
    assert len(starts) >= 3, "fewer than 3 beeps in 4.2 s"
    lengths = []
    for start in starts:
        # The beep starts with the picture numbered a multiple of 30: on air within a frame.
        at = start / SLOT  # in program frames
        first = next(slot for slot, number in enumerate(shown)
                     if number % PROGRAM_FPS == 0 and slot >= at - 3)
        assert abs(first - at) <= 1, (at, first, shown[int(at) - 2:int(at) + 3])
        if start + RATE // 5 < len(sound):
            last = start + numpy.flatnonzero(loud[start:start + RATE // 5])[-1]
            lengths.append((last - start) / RATE)
        print(f"beep heard at frame {at:.2f}, its picture first shown at frame {first}")
    # Each beep lasts its 100 ms (to the sine's last peak): nothing of it is skipped or
    # repeated. A chunk that came after its read (a loaded machine) is heard after the silence
    # it caused, which lengthens that beep; most have none.
    assert all(BEEP_SECONDS - 0.002 < length < BEEP_SECONDS + 0.04 for length in lengths), \
        lengths
    assert sum(abs(length - BEEP_SECONDS) < 0.002 for length in lengths) * 2 >= len(lengths), \
        lengths
    print(sources.check_calls())
