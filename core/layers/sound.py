"""What every layer with a sound track has: its `volume` and whether it is `muted`.

The program audio mixes these (see DESIGN.md, "Program audio"); a source type's content class
and schema extend the ones here.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import validate

from core.layers.model import LayerContent
from core.layers.registry import ContentSchema
from core.schemas.fields import Boolean, Number

MAX_VOLUME = 4.0


@dataclass(frozen=True, kw_only=True)
class SoundingContent(LayerContent):
    """`volume` (0-4, linear gain) and `muted`."""

    volume: float = 1.0
    muted: bool = False


class SoundingContentSchema(ContentSchema):
    """The sound fields, with their rules and defaults."""

    volume = Number(validate=validate.Range(0.0, MAX_VOLUME), load_default=1.0,
                    metadata={"description": "linear gain of the layer's sound, 0-4"})
    muted = Boolean(load_default=False, metadata={"description": "silence the layer's sound"})
