"""What the API shows of render nodes and channel placements (core.store.placement reads
them): GET /nodes, /health's `nodes` and `unplaced`, and each channel's `placement`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.store import StateStore
from core.store.placement import Placement, PlacementStore

# A channel no placer has written a placement for: no render node runs (or none has been
# the placer since the channel was made, which takes a fraction of a second).
NOT_PLACED = "not placed by any render node yet (is one running?)"


def unplaced_view(reason: str) -> dict[str, Any]:
    """The placement shown for a channel that has none."""
    return {"state": "unplaced", "node": None, "epoch": 0, "since": None, "cost": 0.0,
            "reason": reason}


class Placements:
    """Node records and placements, as the API answers them."""

    def __init__(self, store: PlacementStore) -> None:
        self._store = store

    def node_views(self) -> list[dict[str, Any]]:
        """Every node as GET /nodes lists it, by id."""
        return [node.view() for node in self._store.nodes()]

    def view(self, channel: str) -> dict[str, Any]:
        """Where `channel` runs (`unplaced` with NOT_PLACED when it has no placement)."""
        return _view(self._store.placement(channel))

    def views(self, channels: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The placement of each of `channels`, by id (one read for all)."""
        placements = self._store.placements()
        return {channel: _view(placements.get(channel)) for channel in channels}

    def status(self, store: StateStore, target_fps: int) -> dict[str, Any]:
        """`GET /stream/status` of `store`'s channel: the stream state with its `placement`
        (the preview's streamState is the same)."""
        return {**store.status(target_fps), "placement": self.view(store.keys.channel)}

    def unplaced(self, channels: Iterable[str]) -> list[dict[str, str]]:
        """`{"channel", "reason"}` for each of `channels` no node holds, in their order."""
        placements = self._store.placements()
        found = []
        for channel in channels:
            placement = placements.get(channel)
            if placement is None or not placement.placed:
                reason = placement.reason if placement is not None else None
                found.append({"channel": channel, "reason": reason or NOT_PLACED})
        return found


def _view(placement: Placement | None) -> dict[str, Any]:
    return unplaced_view(NOT_PLACED) if placement is None else placement.view()
