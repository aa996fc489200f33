"""Outputs of the render worker: RTMP ingests and recordings, each fed by its own sender."""

from __future__ import annotations

from render.outputs.destination import Destination

__all__ = ["Destination"]
