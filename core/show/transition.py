"""Transitions on the wire and the easing curves.

A layer change may carry a tween, `{"durationMs", "easing"}`: its numbers move from what is on
air to the new value over that time. A scene take carries a cut, fade or wipe.

Easing: the four curves are Robert Penner's quadratic equations (the ones CasparCG names
easeinquad, easeoutquad, easeinoutquad): t², 1-(1-t)², and their join at the middle. Four
one-line formulas are clearer than a dependency; the PyPI easing packages are unmaintained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, post_load, validate

from core.schemas.fields import Integer, Text

MAX_DURATION_MS = 60_000
EASINGS = ("linear", "easeIn", "easeOut", "easeInOut")
SCENE_CUTS = ("cut", "fade", "wipe")


@dataclass(frozen=True)
class Tween:
    """How a layer change moves on air: over `duration_ms` along `easing`."""

    duration_ms: int
    easing: str = "linear"


@dataclass(frozen=True)
class SceneCut:
    """How a scene take replaces the program: `cut`, `fade` or `wipe` over `duration_ms`."""

    type: str = "cut"
    duration_ms: int = 0


class TweenSchema(Schema):
    """`{"durationMs": 0-60000, "easing": "linear"|"easeIn"|"easeOut"|"easeInOut"}`."""

    duration_ms = Integer(data_key="durationMs", required=True,
                          validate=validate.Range(0, MAX_DURATION_MS))
    easing = Text(load_default="linear", validate=validate.OneOf(EASINGS))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Tween:
        return Tween(**data)


class SceneCutSchema(Schema):
    """`{"type": "cut"|"fade"|"wipe", "durationMs": 0-60000}`."""

    type = Text(load_default="cut", validate=validate.OneOf(SCENE_CUTS))
    duration_ms = Integer(data_key="durationMs", load_default=0,
                          validate=validate.Range(0, MAX_DURATION_MS))

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> SceneCut:
        return SceneCut(**data)


_TWEEN = TweenSchema()
_SCENE_CUT = SceneCutSchema()


def load_tween(wire: Any) -> Tween | None:
    """A tween from its JSON (None for none or a zero duration: a cut); ValidationError names
    the fields."""
    if wire is None:
        return None
    tween: Tween = _TWEEN.load(wire)
    return tween if tween.duration_ms else None


def dump_tween(tween: Tween) -> dict[str, Any]:
    """A tween as JSON."""
    wire: dict[str, Any] = _TWEEN.dump(tween)
    return wire


def load_scene_cut(wire: Any) -> SceneCut:
    """A take's transition from its JSON (None: a cut)."""
    cut: SceneCut = _SCENE_CUT.load(wire or {})
    return cut


def dump_scene_cut(cut: SceneCut) -> dict[str, Any]:
    """A take's transition as JSON."""
    wire: dict[str, Any] = _SCENE_CUT.dump(cut)
    return wire


def ease(easing: str, progress: float) -> float:
    """How far along (0-1) a value is at `progress` (0-1, clamped) of its tween."""
    t = min(1.0, max(0.0, progress))
    if easing == "easeIn":
        return t * t
    if easing == "easeOut":
        return 1.0 - (1.0 - t) * (1.0 - t)
    if easing == "easeInOut":
        return 2 * t * t if t < 0.5 else 1.0 - 2 * (1.0 - t) * (1.0 - t)
    return t
