"""Where a video layer is in its file: an anchor the store keeps and every reader extends.

`Playback(state, position, since)` says "at epoch ms `since` the video was at `position`
seconds, and it advances in real time while playing". The store moves the anchor on each
action (play, pause, restart, seek); the render worker and the API both compute the position
of any instant from it, so a standby render worker that takes over plays on from the same
place, and reads need no render worker to tell the position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import Schema, ValidationError, post_load, validate

from core.schemas.fields import Number, Text, epoch_ms

PlaybackState = Literal["playing", "paused"]
PLAYING: PlaybackState = "playing"
PAUSED: PlaybackState = "paused"
ENDED = "ended"
ACTIONS = ("play", "pause", "restart", "seek")
MAX_POSITION = 86_400.0


@dataclass(frozen=True)
class Playback:
    """A playback anchor: `position` seconds at epoch ms `since`; moves while playing."""

    state: PlaybackState
    position: float
    since: int

    @classmethod
    def started(cls, now_ms: int) -> Playback:
        """Playing from the start, as of `now_ms`."""
        return cls(PLAYING, 0.0, now_ms)

    def position_at(self, now_ms: float) -> float:
        """Seconds into the timeline at `now_ms` (not wrapped: a looping video keeps going)."""
        if self.state == PAUSED:
            return self.position
        return self.position + max(0, now_ms - self.since) / 1000

    def after(self, action: str, now_ms: int, position: float | None = None) -> Playback:
        """The anchor after an operator's action at `now_ms`."""
        if action == "restart":
            return Playback(PLAYING, 0.0, now_ms)
        if action == "seek":
            return Playback(self.state, float(position or 0.0), now_ms)
        state: PlaybackState = PAUSED if action == "pause" else PLAYING
        return Playback(state, self.position_at(now_ms), now_ms)


def media_position(timeline: float, duration: float | None, loop: bool) -> tuple[str, float]:
    """(state, seconds into the file) for a timeline position: wrapped when looping, held at
    the end (state "ended") when not; as it is while the duration is unknown."""
    if duration is None or duration <= 0:
        return PLAYING, timeline
    if loop:
        return PLAYING, timeline % duration
    if timeline >= duration:
        return ENDED, duration
    return PLAYING, timeline


class PlaybackSchema(Schema):
    """A stored playback anchor."""

    state = Text(required=True, validate=validate.OneOf((PLAYING, PAUSED)))
    position = Number(required=True, validate=validate.Range(0.0, 1e12))
    since = epoch_ms(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Playback:
        return Playback(**data)


class PlaybackActionSchema(Schema):
    """`POST /stream/layers/<id>/playback`: an action, and the position to seek to."""

    action = Text(required=True, validate=validate.OneOf(ACTIONS))
    position = Number(validate=validate.Range(0.0, MAX_POSITION), load_default=None,
                      allow_none=True)

    @post_load
    def _seek_needs_position(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data["action"] == "seek" and data["position"] is None:
            raise ValidationError("seek needs a position in seconds", "position")
        return data
