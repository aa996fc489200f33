"""The typed cue: what it does, when, and what became of its runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BATCH = "batch"
TAKE = "take"
# The stream's own actions (core.store.STREAM_ACTIONS, which imports this package: named here
# again, and a test holds the two equal).
STREAM_CUES = ("start", "stop", "pause", "resume")
ACTION_KINDS = (BATCH, TAKE, *STREAM_CUES)
STATES = ("scheduled", "done", "missed", "failed")
RESULTS = ("ok", "missed", "failed")
MAX_GRACE_MS = 3_600_000
DEFAULT_GRACE_MS = 5_000
# Layer and scene cues are committed this long before their time, carrying it as effectiveAt:
# the render worker holds the change for the first frame at or after it, which no task sent at
# the time itself could reach (a beat tick, the broker and the commit take tens of ms).
# Stream-state cues go through the control plane and are sent at their time.
LAYER_CUE_LEAD_MS = 500


@dataclass(frozen=True)
class CueAction:
    """What a cue does. `operations` (batch) are in wire form, checked in full when the cue
    runs; `transition` is a batch's tween or a take's cut, fade or wipe, in wire form."""

    kind: str
    operations: tuple[dict[str, Any], ...] = ()
    transition: dict[str, Any] | None = None
    scene_id: str | None = None

    @property
    def on_layers(self) -> bool:
        """A batch or a take: it lands on a frame, so it is sent ahead (LAYER_CUE_LEAD_MS)."""
        return self.kind in (BATCH, TAKE)


@dataclass(frozen=True)
class CueRun:
    """One time a cue fell due: `result` ok, missed (later than its grace) or failed, with
    the change's HTTP `status` (None when missed), its history `seq` and the `error`."""

    due_at: int
    ran_at: int
    result: str
    status: int | None
    seq: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class NewCue:
    """A cue a client asked for: at a time (`at`, epoch ms) or on `cron` in `timezone`."""

    name: str
    action: CueAction
    at: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    grace_ms: int = DEFAULT_GRACE_MS


@dataclass(frozen=True)
class Cue:
    """A stored cue. `next_at` is when it falls due next (None once a one-shot cue ran)."""

    id: str
    name: str
    at: int | None
    cron: str | None
    timezone: str
    grace_ms: int
    action: CueAction
    state: str
    next_at: int | None
    created_at: int
    runs: int
    last_run: CueRun | None


@dataclass(frozen=True)
class DueCue:
    """A scheduled cue as the beat sees it: its id, its time and when to send it."""

    id: str
    due_at: int
    on_layers: bool

    @property
    def send_at(self) -> int:
        """Epoch ms the beat sends `cues.fire`."""
        return self.due_at - (LAYER_CUE_LEAD_MS if self.on_layers else 0)
