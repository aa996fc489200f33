"""Tweens: a layer change carrying a transition moves the layer's numbers on the render clock.

The scene (render.scene) holds the stored layers, which take every change at once, as the store
did. `Tweens` remembers, for each layer in motion, where each of its numbers started, where it
goes, over how long and along which easing (core.show.ease), and `on_air` draws the stored
layers with their numbers where the tweens have them at a frame's instant: the list the
compositor composites and the mixer mixes.

- What moves: transform x, y, width and height (a side only when both ends have one), scale
  and rotation; opacity; a colour layer's colour (each channel, alpha too); the volume of a
  layer with sound. Everything else (content, z-index, playback...) snaps at the start.
  Integer fields are rounded.
- A layer that is hidden, or not on air at all (before its creation, after its deletion), is
  on air at opacity 0 and volume 0. So a layer created or shown with a transition fades in; one
  hidden with a transition fades out and is drawn visible until its fade ends; one deleted
  with a transition stays on the on-air list as a ghost (its source kept running, its tile
  kept) until its fade ends.
- A change during a tween starts from what was on air on the last frame. A change without a
  transition during a tween snaps the numbers it set to something else; the others keep
  moving.
- A tween starts on the first frame after the change (progress 0 there), or, for a deferred
  change (`effectiveAt`), at its effective instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from core.layers import Layer, layer_order
from core.layers.sound import SoundingContent
from core.layers.types.color import ColorContent
from core.show import Tween, ease
from render.layers.base import parse_color

Numbers = dict[str, float]

TRANSFORM_FIELDS = ("x", "y", "width", "height", "scale", "rotation")
ROUNDED = ("x", "y", "width", "height")
CHANNELS = ("red", "green", "blue", "alpha")
# What a layer off air has at 0: faded, so hiding, showing, creating and deleting can fade.
FADED = ("opacity", "volume")


@dataclass
class _Motion:
    """One layer's tween: each number's (from, to), and when (`start`: None until the frame
    it starts on is drawn)."""

    values: dict[str, tuple[float, float]]
    seconds: float
    easing: str
    start: float | None
    # Hidden or deleted at its end: drawn visible until then.
    fading_out: bool
    # A deleted layer, drawn from this until its fade ends.
    ghost: Layer | None = None

    def progress(self, now: float) -> float:
        """0 at the start, 1 at the end."""
        if self.start is None:
            return 0.0
        return min(1.0, max(0.0, (now - self.start) / self.seconds))

    def draw(self, layer: Layer, now: float) -> Layer:
        """`layer` with its numbers where the tween has them at `now`."""
        eased = ease(self.easing, self.progress(now))
        values = {name: start + (end - start) * eased
                  for name, (start, end) in self.values.items()}
        return placed(layer, values, visible=layer.visible or self.fading_out)


class Tweens:
    """The layers in motion; for the render thread only."""

    def __init__(self) -> None:
        self._motions: dict[str, _Motion] = {}
        # The instant of the last frame drawn (epoch seconds): what "on air" means for a
        # change that starts on the next frame.
        self._now = 0.0

    def change(self, before: Layer | None, after: Layer | None, tween: Tween | None,
               start: float | None) -> None:
        """A layer went from `before` to `after` (None: it did not exist, or no longer does),
        with `tween` or as a cut, starting at `start` (epoch seconds; None: the next frame)."""
        layer = after or before
        if layer is None:
            return
        motion = self._motions.pop(layer.id, None)
        if tween is None:
            if motion is not None and after is not None and motion.ghost is None:
                self._keep_unchanged(after, motion)
            return
        at = start if start is not None else self._now
        # What was drawn: the stored layer, or a ghost, where its tween had it.
        base = before if motion is None or motion.ghost is None else motion.ghost
        shown = base if motion is None or base is None else motion.draw(base, at)
        target = numbers(after) if after is not None else faded(numbers(layer))
        was = numbers(shown) if shown is not None else faded(target)
        fading_out = (after is None or not after.visible) and any(
            was.get(name) for name in FADED)
        values = {name: (was[name], target[name]) for name in was.keys() & target.keys()
                  if was[name] != target[name] or (fading_out and name in FADED)}
        if _moves(values.values()):
            self._motions[layer.id] = _Motion(
                values, tween.duration_ms / 1000, tween.easing, start, fading_out,
                ghost=layer if after is None else None)

    def on_air(self, stored: list[Layer], now: float) -> list[Layer]:
        """The layers to draw at `now` (bottom to top, ghosts among them): `stored` itself
        when nothing moves. Tweens waiting for their first frame start at `now`; finished
        ones end."""
        self._now = now
        if not self._motions:
            return stored
        for layer_id, motion in list(self._motions.items()):
            if motion.start is None:
                motion.start = now
            elif motion.progress(now) >= 1.0:
                del self._motions[layer_id]
        return self.drawn(stored, now)

    def drawn(self, stored: list[Layer], at: float | None = None) -> list[Layer]:
        """The layers as on air at `at` (default: the last frame drawn), changing nothing."""
        now = self._now if at is None else at
        if not self._motions:
            return stored
        motions = self._motions
        drawn = [motions[layer.id].draw(layer, now) if layer.id in motions else layer
                 for layer in stored]
        ghosts = [motion.draw(motion.ghost, now) for motion in motions.values()
                  if motion.ghost is not None and motion.progress(now) < 1.0]
        return sorted([*drawn, *ghosts], key=layer_order) if ghosts else drawn

    def _keep_unchanged(self, after: Layer, motion: _Motion) -> None:
        """A cut during a tween: what it set snaps; numbers it left where they were going go
        on moving."""
        target = numbers(after)
        kept = {name: ends for name, ends in motion.values.items()
                if target.get(name) == ends[1]}
        if _moves(kept.values()):
            self._motions[after.id] = replace(motion, values=kept,
                                              fading_out=motion.fading_out and not after.visible)


def numbers(layer: Layer) -> Numbers:
    """The layer's numbers that tweens move, as on air (hidden: faded)."""
    transform = layer.transform
    values: Numbers = {"x": transform.x, "y": transform.y, "scale": transform.scale,
                       "rotation": transform.rotation, "opacity": layer.opacity}
    if transform.width is not None:
        values["width"] = transform.width
    if transform.height is not None:
        values["height"] = transform.height
    content = layer.content
    if isinstance(content, ColorContent):
        values.update(zip(CHANNELS, parse_color(content.color), strict=True))
    if isinstance(content, SoundingContent):
        values["volume"] = content.volume
    return values if layer.visible else faded(values)


def faded(values: Numbers) -> Numbers:
    """`values` at opacity 0 and volume 0 (off air)."""
    return {name: 0.0 if name in FADED else value for name, value in values.items()}


def placed(layer: Layer, values: Numbers, visible: bool) -> Layer:
    """`layer` with the numbers in `values` (the others as they are)."""
    transform: dict[str, Any] = {
        name: round(values[name]) if name in ROUNDED else values[name]
        for name in TRANSFORM_FIELDS if name in values}
    content = layer.content
    changes: dict[str, Any] = {}
    if isinstance(content, ColorContent) and values.keys() & set(CHANNELS):
        channels = [min(255, max(0, round(values.get(name, stored))))
                    for name, stored in zip(CHANNELS, parse_color(content.color), strict=True)]
        changes["color"] = "#" + "".join(f"{channel:02x}" for channel in channels)
    if isinstance(content, SoundingContent) and "volume" in values:
        changes["volume"] = max(0.0, values["volume"])
    return replace(layer, visible=visible,
                   opacity=min(1.0, max(0.0, values.get("opacity", layer.opacity))),
                   transform=replace(layer.transform, **transform),
                   content=replace(content, **changes) if changes else content)


def _moves(ends: Iterable[tuple[float, float]]) -> bool:
    return any(start != end for start, end in ends)
