"""The mix's bookkeeping: every slot gets exactly its share of samples, whatever the rate, and
a skipped slot's share comes with the next one; the levels are always readable as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from render.audio.mixer import ProgramAudio
from render.sources import Sources
from tests.support.timed_sources import closed_sources

RATE = 48_000


@pytest.fixture
def sources() -> Iterator[Sources]:
    yield from closed_sources()


@pytest.mark.parametrize("fps", [30, 25, 24, 60, 29])
def test_each_slot_gets_exactly_its_share_of_samples(sources: Sources, tmp_path: Path,
                                                     fps: int) -> None:
    audio = ProgramAudio(sources, tmp_path)
    total = sum(len(audio.mix([], slot, fps, 1e9 + slot / fps)) for slot in range(3 * fps))
    assert total == 3 * RATE  # never a sample more or less than the pictures' time
    if RATE % fps == 0:
        assert len(audio.mix([], 3 * fps, fps, 1e9)) == RATE // fps


def test_a_skipped_slot_is_filled_and_a_new_clock_starts_over(sources: Sources,
                                                             tmp_path: Path) -> None:
    audio = ProgramAudio(sources, tmp_path)
    assert len(audio.mix([], 0, 30, 1e9)) == 1600
    assert len(audio.mix([], 3, 30, 1e9)) == 3 * 1600  # slots 1 and 2 came late
    assert len(audio.mix([], 0, 30, 1e9)) == 1600  # a new clock (a new stream)


def test_silence_reads_as_the_floor_and_the_levels_are_json(sources: Sources,
                                                          tmp_path: Path) -> None:
    audio = ProgramAudio(sources, tmp_path)
    for slot in range(10):
        assert not audio.mix([], slot, 30, 1e9 + slot / 30).any()
    levels = audio.levels
    assert levels is not None
    json.dumps(levels, allow_nan=False)
    assert levels["program"]["peakDb"] == -120.0
    assert levels["program"]["shortTermLufs"] is None
    assert levels["bed"]["state"] == "stopped" and levels["layers"] == {}
