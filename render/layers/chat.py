"""Chat layers: the latest `content.maxMessages` chat messages, one "author: message" each.

Oldest at the top, newest at the bottom, laid out like a text layer. With a box width, words
wrap to it (a word wider than the box is broken between characters). With a box height that
the lines overflow, the oldest lines are dropped so the newest stay in view. The lines shown
are part of the tile key, so the layer re-rasterises only when a message it shows changes.
"""

from __future__ import annotations

from core.layers.types.chat import ChatContent
from render.layers.base import Box, FrameInput, rasteriser
from render.layers.fonts import Font
from render.layers.text import StyledTextLayer, line_pitch, line_width


@rasteriser("chat")
class ChatLayer(StyledTextLayer[ChatContent]):
    """Draws the tail of the chat history."""

    def shown(self, content: ChatContent, frame: FrameInput) -> tuple[str, ...]:
        """The messages shown right now, oldest first."""
        return _shown(content.max_messages, frame)

    def lines(self, shown: tuple[str, ...], font: Font, box: Box) -> list[str]:
        """The messages wrapped to the box width and trimmed (oldest first) to its height."""
        lines = [
            wrapped
            for text in shown
            for paragraph in text.split("\n")
            for wrapped in wrap(paragraph, font, box.width)
        ]
        if box.height is not None:
            fitting = max(1, box.height // line_pitch(font))
            lines = lines[-fitting:]
        return lines


def _shown(max_messages: int, frame: FrameInput) -> tuple[str, ...]:
    return tuple(f"{item['author']}: {item['message']}" for item in frame.chat[-max_messages:])


def wrap(text: str, font: Font, width: int | None) -> list[str]:
    """`text` broken into lines no wider than `width` pixels (one line when width is None)."""
    if width is None:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if line_width(font, candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(current) > 1 and line_width(font, current) > width:
            head = _longest_fitting_prefix(current, font, width)
            lines.append(head)
            current = current[len(head):]
    lines.append(current)
    return lines


def _longest_fitting_prefix(word: str, font: Font, width: int) -> str:
    """The longest non-empty start of `word` that fits `width` (at least one character)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if line_width(font, word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return word[:low]
