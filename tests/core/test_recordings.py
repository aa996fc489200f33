"""Recordings on disk: durations are probed once per version of a file, start times fall back
from the name's stamp to the file's times, and a Matroska tail that is not one reads None."""

from __future__ import annotations

import os
import random
from pathlib import Path

from core.matroska import CLUSTER_ID, last_block_ticks
from core.recordings import DurationCache, Recordings, started_at


def test_durations_are_probed_again_only_when_a_file_changes(tmp_path: Path) -> None:
    probed: list[str] = []

    def probe(path: Path) -> float:
        probed.append(path.name)
        return 1.5

    recordings = Recordings(tmp_path, DurationCache(probe))
    first = tmp_path / "a.mkv"
    first.write_bytes(b"x")
    (tmp_path / "b.mkv").write_bytes(b"y")
    for _ in range(3):
        assert [r.duration_seconds for r in recordings.newest_first()] == [1.5, 1.5]
    assert sorted(probed) == ["a.mkv", "b.mkv"]

    with first.open("ab") as growing:
        growing.write(b"more")
    recordings.newest_first()
    assert sorted(probed) == ["a.mkv", "a.mkv", "b.mkv"]

    # A deleted file is forgotten; one of the same name made again is probed again.
    first.unlink()
    recordings.newest_first()
    first.write_bytes(b"x")
    recordings.newest_first()
    assert probed.count("a.mkv") == 3


def test_start_time_from_the_stamp_else_the_last_write(tmp_path: Path) -> None:
    path = tmp_path / "x.mkv"
    path.write_bytes(b"")
    os.utime(path, (1_700_000_010, 1_700_000_010))
    stat = path.stat()
    assert started_at("cam-20240102T030405Z-3.mkv", stat, 2.0) == 1_704_164_645_000
    assert started_at("cam.mkv", stat, 2.5) == 1_700_000_007_500
    assert started_at("cam.mkv", stat, None) == 1_700_000_010_000
    # Digits that are no date, or not a plausible one, fall back to the file's times.
    assert started_at("cam-20241399T000000Z.mkv", stat, None) == 1_700_000_010_000
    assert started_at("cam-00010101T000000Z.mkv", stat, None) == 1_700_000_010_000


def test_a_tail_without_a_whole_cluster_reads_none(tmp_path: Path) -> None:
    noise = random.Random(1).randbytes
    path = tmp_path / "noise.mkv"
    path.write_bytes(noise(1 << 16) + CLUSTER_ID + b"\x81" + noise(64))
    assert last_block_ticks(path) is None
    # A cluster with its timestamp and one SimpleBlock (track 1, +40 ticks), then a cut-off one.
    block = b"\xa3\x85" + b"\x81" + (40).to_bytes(2, "big") + b"\x80\x00"
    cluster = b"\xe7\x82" + (1000).to_bytes(2, "big") + block + b"\xa3\x90" + b"\x81\x00"
    path.write_bytes(noise(100) + CLUSTER_ID + bytes([0x80 | len(cluster)]) + cluster)
    assert last_block_ticks(path) == 1040
