"""Video layers: a clip from the media library, played in real time on the program clock."""

from __future__ import annotations

from dataclasses import dataclass

from core.layers.registry import LayerType, register_layer_type
from core.layers.sound import SoundingContent, SoundingContentSchema
from core.schemas.fields import Boolean, MediaSource


@dataclass(frozen=True, kw_only=True)
class VideoContent(SoundingContent):
    """`source`: a video under MEDIA_ROOT; `loop`: start again at the end (else hold the last
    frame)."""

    source: str
    loop: bool = True


class VideoContentSchema(SoundingContentSchema):
    """A video file from the media library."""

    content_class = VideoContent

    source = MediaSource(required=True, metadata={
        "description": "a video in the media library", "accept": "video"})
    loop = Boolean(load_default=True, metadata={
        "description": "start again at the end (else hold the last frame)"})


VIDEO = register_layer_type(LayerType(
    "video", VideoContentSchema(), "A video from the media library, played in real time",
    playable=True))
