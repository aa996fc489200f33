"""The typed channel model: a program of its own, with the output it renders at.

A channel stores only the output settings its operator chose (`OutputOverrides`); the rest
come from the deployment's OUTPUT_WIDTH, OUTPUT_HEIGHT, RENDER_FPS and VIDEO_BITRATE, so a
channel that sets nothing follows them when they change. `effective_output` is what the
channel renders at (core.channels.cost: what that costs a render node).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

from core.config import Settings

DEFAULT_CHANNEL_NAME: Final = "Default"


@dataclass(frozen=True)
class OutputOverrides:
    """The output settings a channel sets itself; None follows the deployment's setting."""

    width: int | None = None
    height: int | None = None
    fps: int | None = None
    video_bitrate: int | None = None

    def merged(self, change: OutputOverrides, given: frozenset[str]) -> OutputOverrides:
        """These settings with each field named in `given` taken from `change` (None there
        goes back to following the deployment)."""
        return OutputOverrides(**{
            field.name: getattr(change if field.name in given else self, field.name)
            for field in fields(self)})


@dataclass(frozen=True)
class ChannelOutput:
    """What a channel renders at, every setting filled in."""

    width: int
    height: int
    fps: int
    video_bitrate: int


@dataclass(frozen=True)
class NewChannel:
    """A channel a client asked for."""

    id: str
    name: str
    output: OutputOverrides = OutputOverrides()


@dataclass(frozen=True)
class ChannelPatch:
    """A change to a channel: a new name and/or output settings (`output_fields` names the
    output settings sent, so a null resets one to the deployment's)."""

    name: str | None = None
    output: OutputOverrides | None = None
    output_fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Channel:
    """A stored channel."""

    id: str
    name: str
    output: OutputOverrides
    created_at: int
    version: int


def effective_output(channel: Channel, settings: Settings) -> ChannelOutput:
    """What `channel` renders at: its own settings, the deployment's for the rest."""
    own = channel.output
    return ChannelOutput(
        width=own.width or settings.output_width,
        height=own.height or settings.output_height,
        fps=own.fps or settings.render_fps,
        video_bitrate=own.video_bitrate or settings.video_bitrate,
    )

