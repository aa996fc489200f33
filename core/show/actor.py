"""Who made a change and from where, as the history shows it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Where a change came from: a client of the API, a cue falling due, an undo or a redo.
SOURCES = ("api", "cue", "undo", "redo")
# The API's roles (app.tokens), and the system's own for cues.
ROLES = ("operator", "viewer", "system")


@dataclass(frozen=True)
class Actor:
    """`source` (one of SOURCES) and `role` (one of ROLES) of a change."""

    source: str = "api"
    role: str = "operator"

    def __post_init__(self) -> None:
        if self.source not in SOURCES or self.role not in ROLES:
            raise ValueError(f"unknown actor {self.source!r}/{self.role!r}")

    def to_wire(self) -> dict[str, Any]:
        """The dict a task message carries."""
        return asdict(self)

    @classmethod
    def from_wire(cls, wire: dict[str, Any] | None) -> Actor:
        """An actor from a task message (None: the API's operator, for messages sent before
        actors were carried)."""
        return cls(**wire) if wire else API_ACTOR


API_ACTOR = Actor("api", "operator")
