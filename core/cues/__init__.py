"""Cues: a batch, a scene take or a stream action that runs at a time, in some ms, or on a
cron expression (DESIGN.md, "Show control"; docs/operations.md, "Cues").

`model` is the typed cue, `schemas` its wire form, `schedule` the time zones and cron
expressions (croniter). The store keeps them (core.store.cues), the beat sends them when due
(workers.beat) and a task runs them (workers.cues).
"""

from core.cues.model import (
    ACTION_KINDS,
    LAYER_CUE_LEAD_MS,
    STREAM_CUES,
    Cue,
    CueAction,
    CueRun,
    DueCue,
    NewCue,
)
from core.cues.schedule import ScheduleError, next_cron_time
from core.cues.schemas import dump_cue, dump_new_cue, load_cue, load_new_cue

__all__ = [
    "ACTION_KINDS", "LAYER_CUE_LEAD_MS", "STREAM_CUES", "Cue", "CueAction", "CueRun", "DueCue",
    "NewCue", "ScheduleError", "dump_cue", "dump_new_cue", "load_cue", "load_new_cue",
    "next_cron_time",
]
