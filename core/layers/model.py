"""The typed layer model every process shares: what a layer is, not how it travels.

The wire (HTTP, Redis, events) speaks camelCase JSON; `core.layers.schemas` turns it into these
frozen objects at each edge and back. Inside a process a layer is only ever one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.layers.playback import Playback


@dataclass(frozen=True, kw_only=True)
class LayerContent:
    """What a layer shows; one subclass per layer type (see core/layers/types/)."""


@dataclass(frozen=True)
class Transform:
    """The layer's box in output pixels: top-left x/y, optional size, scale and rotation.

    A null width or height is the content's natural size; `scale` multiplies the box and
    `rotation` is degrees clockwise about the scaled box's centre.
    """

    x: int = 0
    y: int = 0
    width: int | None = None
    height: int | None = None
    scale: float = 1.0
    rotation: float = 0.0


@dataclass(frozen=True)
class NewLayer:
    """A layer a client asked for, before the server gives it an id; without a z-index the
    store puts it on top."""

    type: str
    name: str
    content: LayerContent
    visible: bool = True
    opacity: float = 1.0
    transform: Transform = field(default_factory=Transform)
    z_index: int | None = None


@dataclass(frozen=True)
class Layer:
    """A stored layer: what the operator set plus what the server assigned."""

    id: str
    type: str
    name: str
    content: LayerContent
    visible: bool
    opacity: float
    transform: Transform
    z_index: int
    version: int
    created_at: int
    updated_at: int
    # Where a video is in its file (types that play only); set by the store, never by clients.
    playback: Playback | None = None


def layer_order(layer: Layer) -> tuple[int, int, str]:
    """Bottom to top: by zIndex, then by age, then by id so the order is total."""
    return (layer.z_index, layer.created_at, layer.id)
