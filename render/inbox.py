"""The render thread's inbox: what other threads tell it (the feed's snapshots, events, output
targets and audio settings, the lease keeper's changes). Messages arrive on one queue and are
applied between two frames, so the compositor and encoder only ever see one thread. (A
"command", in this codebase, is what the API sends the Celery worker.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.audio import AudioSettings
from core.layers import Layer
from core.outputs import OutputTarget
from core.store import StoredEvent


@dataclass(frozen=True)
class Snapshot:
    """A full read of the store: replaces the scene."""

    desired: dict[str, Any]
    layers: list[Layer]
    chat: list[dict[str, Any]]


@dataclass(frozen=True)
class SceneEvent:
    """One change from the event stream."""

    event: StoredEvent


@dataclass(frozen=True)
class OutputsChanged:
    """Where the program goes now: every enabled output, keys joined in (read from the store,
    never from an event). The running stream applies it at once."""

    targets: list[OutputTarget]


@dataclass(frozen=True)
class LeaseChanged:
    """This instance gained (True) or lost (False) the right to stream."""

    held: bool


@dataclass(frozen=True)
class AudioChanged:
    """The program audio's settings (read from the store with each full read and after each
    change)."""

    settings: AudioSettings


InboxMessage = Snapshot | SceneEvent | OutputsChanged | LeaseChanged | AudioChanged
