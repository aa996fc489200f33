"""Image layers: a PNG, JPEG or WebP from the media library."""

from __future__ import annotations

from dataclasses import dataclass

from core.layers.model import LayerContent
from core.layers.registry import ContentSchema, LayerType, register_layer_type
from core.schemas.fields import MediaSource


@dataclass(frozen=True, kw_only=True)
class ImageContent(LayerContent):
    """`source`: a path under MEDIA_ROOT."""

    source: str


class ImageContentSchema(ContentSchema):
    """An image from the media library."""

    content_class = ImageContent

    source = MediaSource(required=True, metadata={
        "description": "an image in the media library", "accept": "image"})


IMAGE = register_layer_type(LayerType(
    "image", ImageContentSchema(), "An image from the media library"))
