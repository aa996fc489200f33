"""What other threads ask of the render thread. They arrive on one queue and are applied
between two frames, so the compositor and encoder only ever see one thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.store import StoredEvent


@dataclass(frozen=True)
class Snapshot:
    """A full read of the store: replaces the scene."""

    desired: dict[str, Any]
    layers: list[dict[str, Any]]
    chat: list[dict[str, Any]]


@dataclass(frozen=True)
class SceneEvent:
    """One change from the event stream."""

    event: StoredEvent


@dataclass(frozen=True)
class LeaseChanged:
    """This instance gained (True) or lost (False) the right to stream."""

    held: bool


Command = Snapshot | SceneEvent | LeaseChanged
