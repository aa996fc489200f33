"""The bed player with real source processes: two short tracks (a quiet and a loud 440 Hz
sine, told apart by their level), read block by block at the program's pace, as the mixer
reads them."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.audio import Bed
from render.audio.bed import BedPlayer
from render.sources import Sources
from tests.support.timed_sources import closed_sources

RATE = 48_000
BLOCK = 1600  # one frame at 30 fps
QUIET, LOUD = 0.2, 0.4
TRACK_SECONDS = 1.5


def write_wav(path: Path, amplitude: float, seconds: float = TRACK_SECONDS) -> None:
    times = np.arange(round(seconds * RATE)) / RATE
    tone = amplitude * np.sin(2 * np.pi * 440 * times)
    samples = (np.repeat(tone[:, None], 2, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())


@pytest.fixture
def sources() -> Iterator[Sources]:
    yield from closed_sources()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    write_wav(tmp_path / "quiet.wav", QUIET)
    write_wav(tmp_path / "loud.wav", LOUD)
    return tmp_path


def play(bed: BedPlayer, seconds: float) -> list[tuple[float, str | None]]:
    """Read `seconds` of the bed at the program's pace: each block's peak and track."""
    heard = []
    start = time.monotonic()
    for index in range(round(seconds * RATE / BLOCK)):
        delay = start + index * BLOCK / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        block = bed.read(BLOCK)
        heard.append((float(np.abs(block).max()), bed.status()["track"]))
    return heard


def level(peak: float) -> str:
    return "loud" if peak > 0.3 else "quiet" if peak > 0.15 else "silent"


def test_tracks_follow_each_other_with_a_crossfade_and_loop(sources: Sources,
                                                            library: Path) -> None:
    bed = BedPlayer(sources, library)
    bed.apply(Bed(playlist=("quiet.wav", "loud.wav"), crossfade_ms=300))
    heard = play(bed, 5.5)
    levels = [level(peak) for peak, _ in heard]
    first = levels.index("quiet")  # the first track's process starting
    assert first * BLOCK / RATE < 3.0
    played = levels[first:]
    # quiet, then loud, then quiet again (loop), never a silent block between them.
    changes = [a for a, b in zip(played, played[1:], strict=False) if a != b]
    assert "silent" not in played[:round(4.0 * RATE / BLOCK)], played
    assert changes[:2] == ["quiet", "loud"], played
    # A track and its crossfade: 1.5 s less the 0.3 s shared with the next.
    quiet_run = played.index("loud")
    assert 1.0 <= quiet_run * BLOCK / RATE <= 1.5
    tracks = [track for _, track in heard[first:]]
    assert tracks[0] == "quiet.wav" and "loud.wav" in tracks
    assert tracks[tracks.index("loud.wav"):].count("quiet.wav") > 0  # looped


def test_next_pause_and_play_move_the_bed_without_a_click(sources: Sources,
                                                          library: Path) -> None:
    bed = BedPlayer(sources, library)
    settings = Bed(playlist=("quiet.wav", "loud.wav"), crossfade_ms=0)
    bed.apply(settings)
    heard = play(bed, 3.0)
    assert level(heard[-1][0]) in ("quiet", "loud")

    settings = replace(settings, state="paused")
    bed.apply(settings)
    play(bed, 0.1)  # the 20 ms fade-out (which may carry the track over its end)
    position = bed.status()["position"]
    paused = play(bed, 0.5)
    assert all(level(peak) == "silent" for peak, _ in paused)
    assert bed.status()["position"] == position  # held while paused

    settings = replace(settings, state="playing")
    bed.apply(settings)
    playing_again = play(bed, 0.3)
    assert level(playing_again[-1][0]) != "silent"

    track = bed.status()["track"]
    settings = replace(settings, cue=settings.cue + 1, cue_action="next")
    bed.apply(settings)
    # The other track, heard within its process's start (a few tenths of a second; more on a
    # loaded machine).
    for _ in range(30):
        after = play(bed, 0.1)
        if after[-1][1] != track and level(after[-1][0]) != "silent":
            break
    else:
        raise AssertionError(f"still {track} or silent after 'next': {after}")


def test_an_empty_or_missing_playlist_is_silence(sources: Sources, library: Path) -> None:
    bed = BedPlayer(sources, library)
    assert not np.any(bed.read(BLOCK)) and bed.status()["state"] == "stopped"
    bed.apply(Bed(playlist=("gone.wav",)))
    assert not np.any(bed.read(BLOCK)) and bed.status()["track"] is None
