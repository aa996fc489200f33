"""Recordings in segments, muxed by the sender's real Muxer from real encoded packets (as fast
as the encoder goes, not in real time), and the measured bitrate of an output."""

from __future__ import annotations

import datetime
from pathlib import Path

import av
import numpy
import pytest

from core.outputs import OutputTarget
from render.encoder import Encoder
from render.outputs.meter import RateMeter
from render.outputs.segments import new_segment, prune, segments_of, slug
from render.outputs.sender import Muxer

FPS = 30


def record(folder: Path, seconds: int, segment_seconds: int, keep: int | None) -> list[str]:
    """Encode `seconds` of video into a record output's Muxer, pruning as the destination
    does when the sender names a new file; the files it opened, in order."""
    target = OutputTarget(id="rec", name="Main Show!", kind="record", address=str(folder),
                          segment_seconds=segment_seconds, keep_segments=keep)
    encoder = Encoder(160, 90, FPS, 200_000, 64_000)
    muxer = Muxer(target, encoder.info)
    opened: list[str] = []
    frame = numpy.zeros((90, 160, 3), numpy.uint8)
    for slot in range(seconds * FPS):
        frame[:] = slot % 256  # every frame differs, so each is a real picture
        for packet in encoder.encode(frame, slot):
            muxer.mux(packet)
            if muxer.file is not None and muxer.file not in opened:
                opened.append(muxer.file)
                if keep is not None:
                    prune(folder, target.name, keep, Path(muxer.file))
    for packet in encoder.flush():
        muxer.mux(packet)
    muxer.close()
    return opened


def test_segments_start_on_a_keyframe_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    opened = record(tmp_path, seconds=35, segment_seconds=10, keep=2)

    assert len(opened) == 4 and all(Path(name).name.startswith("main-show-") for name in opened)
    # The two newest closed files and the one that was open when the stream stopped.
    assert segments_of(tmp_path, "Main Show!") == [Path(name) for name in opened[1:]]
    durations = []
    for path in segments_of(tmp_path, "Main Show!"):
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            packets = [packet for packet in container.demux(video) if packet.size]
            assert packets[0].is_keyframe and packets[0].pts == 0
            # Decodes from its first packet: every packet gives its frame.
            frames = sum(len(packet.decode()) for packet in packets)
            frames += len(video.codec_context.decode(None))
            assert frames == len(packets)
            durations.append(frames / FPS)
    # A 2 s GOP: each segment is five GOPs; the last one is what was left.
    assert durations == [10.0, 10.0, 5.0]


def test_without_segment_keeping_every_file_stays(tmp_path: Path) -> None:
    opened = record(tmp_path, seconds=21, segment_seconds=10, keep=None)
    assert len(opened) == 3 and segments_of(tmp_path, "Main Show!") == [Path(n) for n in opened]


def test_segment_names_are_unique_and_belong_to_their_output(tmp_path: Path) -> None:
    when = datetime.datetime(2026, 11, 28, 1, 2, 3, tzinfo=datetime.UTC)
    first, second = new_segment(tmp_path, "show", when), new_segment(tmp_path, "show", when)
    other = new_segment(tmp_path, "show 2", when)
    assert (first.name, second.name, other.name) == (
        "show-20261128T010203Z.mkv", "show-20261128T010203Z-2.mkv",
        "show-2-20261128T010203Z.mkv")
    (tmp_path / "show-notes.mkv").write_bytes(b"")
    assert segments_of(tmp_path, "show") == [first, second]
    assert prune(tmp_path, "show", 0, current=second) == [first]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "show-2-20261128T010203Z.mkv", "show-20261128T010203Z-2.mkv", "show-notes.mkv"]


@pytest.mark.parametrize(("name", "expected"), [
    ("Main Show!", "main-show"), ("../../etc/passwd", "etc-passwd"), ("???", "recording"),
    ("rtmp://host/app", "rtmp-host-app")])
def test_slugs_are_safe_file_names(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_the_bitrate_is_measured_over_the_last_seconds() -> None:
    now = [100.0]
    meter = RateMeter(window=5.0, now=lambda: now[0])
    assert meter.bits_per_second() == 0
    for second in range(10):  # 125 kB a second: 1 Mbit/s
        meter.add(second * 125_000)
        now[0] += 1.0
    now[0] -= 1.0
    assert meter.bits_per_second() == 1_000_000
    now[0] += 4.0  # nothing written since: the rate falls, then reads 0
    assert meter.bits_per_second() == 200_000
    now[0] += 2.0
    assert meter.bits_per_second() == 0
