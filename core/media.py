"""Media library paths: what an image source may name and where it resolves.

Shared by the layer schema (syntax), the API (existence, uploads) and the render worker.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

IMAGE_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MAX_SOURCE_LENGTH = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,99}$")


class MediaPathError(ValueError):
    """A media name is not acceptable; the message says why."""


def check_source(source: str) -> PurePosixPath:
    """Validate the syntax of a media-relative path such as `logos/brand.png`."""
    if not source or len(source) > MAX_SOURCE_LENGTH:
        raise MediaPathError(f"must be 1-{MAX_SOURCE_LENGTH} characters")
    if "\\" in source or "\x00" in source:
        raise MediaPathError("must not contain backslashes or NUL")
    path = PurePosixPath(source)
    if path.is_absolute():
        raise MediaPathError("must be relative to the media folder, not absolute")
    if any(part == ".." for part in path.parts):
        raise MediaPathError("must not contain '..'")
    if not all(_SEGMENT.match(part) for part in path.parts):
        raise MediaPathError("each path segment may use letters, digits, space and . _ -")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise MediaPathError(f"must end in one of {', '.join(sorted(IMAGE_EXTENSIONS))}")
    return path


def resolve_source(media_root: Path, source: str) -> Path:
    """The real file a source names, refusing anything that escapes `media_root` (symlinks too)."""
    relative = check_source(source)
    root = media_root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise MediaPathError("resolves outside the media folder")
    return target
