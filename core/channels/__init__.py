"""Channels: the programs one deployment runs (DESIGN.md, "Channels and render nodes").

`model` is the typed channel and the output it renders at, `schemas` its wire form, `cost`
what it costs a render node. The store keeps them (core.store.channels), the worker changes
them (workers.channels) and every key a channel owns lives under its scope (core.keys).
"""

from core.channels.cost import REFERENCE_PIXEL_RATE, SOURCE_COST, channel_cost
from core.channels.model import (
    DEFAULT_CHANNEL_NAME,
    Channel,
    ChannelOutput,
    ChannelPatch,
    NewChannel,
    OutputOverrides,
    effective_output,
)
from core.channels.schemas import (
    dump_channel,
    dump_channel_read,
    load_channel,
    load_channel_patch,
    load_new_channel,
)

__all__ = [
    "DEFAULT_CHANNEL_NAME", "REFERENCE_PIXEL_RATE", "SOURCE_COST", "Channel", "ChannelOutput",
    "ChannelPatch", "NewChannel", "OutputOverrides", "channel_cost", "dump_channel",
    "dump_channel_read", "effective_output", "load_channel", "load_channel_patch",
    "load_new_channel",
]
