"""The typed program audio settings: master, bed and loudness (DESIGN.md, "Program audio").

Frozen dataclasses, built from the wire once at each edge (core.audio.schemas). The render
worker reads them from the store (`StateStore.audio.get()`) and from `audio.updated` events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

BedState = Literal["playing", "paused"]
CueAction = Literal["next", "previous", "restart"]

MAX_VOLUME = 4.0
MAX_PLAYLIST = 500
MAX_CROSSFADE_MS = 30_000
MAX_DUCK_DB = 40.0
TARGET_LUFS_RANGE = (-31.0, -5.0)
TRUE_PEAK_DB_RANGE = (-9.0, 0.0)
BED_STATES: tuple[BedState, ...] = ("playing", "paused")
CUE_ACTIONS: tuple[CueAction, ...] = ("next", "previous", "restart")
# POST /stream/audio/bed: play and pause set the bed's state, the others move its cue.
BED_ACTIONS = ("play", "pause", *CUE_ACTIONS)


@dataclass(frozen=True)
class Master:
    """The program's master gain (linear, 0-4) and mute."""

    volume: float = 1.0
    muted: bool = False


@dataclass(frozen=True)
class Bed:
    """The music bed: a playlist of library audio files and how it plays.

    `cue` counts the next / previous / restart actions (`cue_action` is the last one), so the
    render worker acts on each once: it moves the bed when the cue differs from the one it
    last saw.
    """

    playlist: tuple[str, ...] = ()
    loop: bool = True
    shuffle: bool = False
    volume: float = 0.5
    crossfade_ms: int = 2000
    duck_db: float = 0.0
    state: BedState = "playing"
    cue: int = 0
    cue_action: CueAction | None = None


@dataclass(frozen=True)
class Loudness:
    """The loudness normaliser's target and the true-peak limiter's ceiling."""

    enabled: bool = True
    target_lufs: float = -14.0
    true_peak_db: float = -1.0


@dataclass(frozen=True)
class AudioSettings:
    """Everything the operator sets about the program audio."""

    master: Master = field(default_factory=Master)
    bed: Bed = field(default_factory=Bed)
    loudness: Loudness = field(default_factory=Loudness)


def merged(settings: AudioSettings, patch: Mapping[str, Mapping[str, Any]]) -> AudioSettings:
    """`settings` with a loaded change applied: {"master": {"volume": 2.0}, "bed": {...}}
    (model attribute names; each part merges field by field)."""
    master = replace(settings.master, **patch.get("master", {}))
    bed = replace(settings.bed, **patch.get("bed", {}))
    loudness = replace(settings.loudness, **patch.get("loudness", {}))
    return AudioSettings(master=master, bed=bed, loudness=loudness)


def after_bed_action(settings: AudioSettings, action: str) -> AudioSettings:
    """`settings` after a bed action: play / pause set its state; next, previous and restart
    bump its cue (each one counts, repeated or not)."""
    bed = settings.bed
    if action == "play":
        bed = replace(bed, state="playing")
    elif action == "pause":
        bed = replace(bed, state="paused")
    elif action in CUE_ACTIONS:
        bed = replace(bed, cue=bed.cue + 1, cue_action=action)
    else:
        raise ValueError(f"unknown bed action {action!r}")
    return replace(settings, bed=bed)
