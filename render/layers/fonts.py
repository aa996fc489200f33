"""The bundled font, shared by every layer type that draws text.

Fonts come from `PIL.ImageFont.load_default(size=...)`: a scalable FreeType font bundled in
Pillow, so output is the same on every machine and no system font is needed.
"""

from __future__ import annotations

from PIL import ImageFont

Font = ImageFont.FreeTypeFont


class Fonts:
    """The bundled font, loaded once per pixel size."""

    def __init__(self) -> None:
        self._by_size: dict[int, Font] = {}

    def get(self, font_size: int, scale: float) -> Font:
        """The font for `font_size` drawn at `scale`."""
        size = max(1, round(font_size * scale))
        font = self._by_size.get(size)
        if font is None:
            loaded = ImageFont.load_default(size=size)
            if not isinstance(loaded, ImageFont.FreeTypeFont):
                raise RuntimeError("this Pillow has no FreeType: text layers cannot be drawn")
            font = self._by_size[size] = loaded
        return font
