"""What a channel costs a render node (DESIGN.md, "Channels and render nodes").

A node's capacity (RENDER_CAPACITY) is counted in cost units: one unit is one 1280x720
channel at 30 fps. A channel costs its pixel rate over that, and each video or input layer
adds SOURCE_COST (a decoder process of its own), as the channel's process reports them.
"""

from __future__ import annotations

from typing import Final

from core.channels.model import ChannelOutput

REFERENCE_PIXEL_RATE: Final = 1280 * 720 * 30
SOURCE_COST: Final = 0.25


def channel_cost(output: ChannelOutput) -> float:
    """What rendering at `output` costs, before its sources: its pixel rate over 1280x720
    at 30 fps."""
    return output.width * output.height * output.fps / REFERENCE_PIXEL_RATE
