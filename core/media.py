"""Media library paths: what a source may name, which kind of file it is, and where it resolves.

Shared by the layer schema (syntax and kind), the API (existence, uploads) and the render worker.
A file's kind comes from its name's extension; the API checks at upload that the content matches
(images with Pillow, video and audio with a PyAV probe, core.media_probe).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Literal

MediaKind = Literal["image", "video", "audio"]

# Extension -> the format the library lists the file as.
IMAGE_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
VIDEO_EXTENSIONS = {".mp4": "MP4", ".mov": "MOV", ".mkv": "MKV", ".webm": "WEBM"}
AUDIO_EXTENSIONS = {".m4a": "M4A", ".mp3": "MP3", ".wav": "WAV", ".ogg": "OGG",
                    ".opus": "OPUS", ".flac": "FLAC"}
EXTENSIONS: dict[MediaKind, dict[str, str]] = {
    "image": IMAGE_EXTENSIONS, "video": VIDEO_EXTENSIONS, "audio": AUDIO_EXTENSIONS}
# Extension -> the Content-Type the file is served with.
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".webp": "image/webp", ".mp4": "video/mp4", ".mov": "video/quicktime",
               ".mkv": "video/x-matroska", ".webm": "video/webm", ".m4a": "audio/mp4",
               ".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg",
               ".opus": "audio/ogg", ".flac": "audio/flac"}
_ALL_EXTENSIONS = {suffix: name for extensions in EXTENSIONS.values()
                   for suffix, name in extensions.items()}
_NOUNS: dict[MediaKind | None, str] = {
    "image": "an image", "video": "a video", "audio": "an audio file", None: "a media file"}
MAX_SOURCE_LENGTH = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,99}$")


class MediaPathError(ValueError):
    """A media name is not acceptable; the message says why."""


def media_kind(name: str) -> MediaKind | None:
    """The kind of file a name's extension says it is, or None for any other extension."""
    suffix = PurePosixPath(name).suffix.lower()
    return next((kind for kind, extensions in EXTENSIONS.items() if suffix in extensions), None)


def media_format(name: str) -> str | None:
    """The format a name's extension says (`PNG`, `MP4`, `FLAC`...), or None."""
    return _ALL_EXTENSIONS.get(PurePosixPath(name).suffix.lower())


def check_source(source: str, accept: MediaKind | None = None) -> PurePosixPath:
    """Validate the syntax of a media-relative path such as `logos/brand.png`, and that its
    extension is one of kind `accept` (None: of any kind)."""
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
    kind = media_kind(source)
    if kind is None or (accept is not None and kind != accept):
        allowed = EXTENSIONS[accept] if accept is not None else _ALL_EXTENSIONS
        raise MediaPathError(f"must be {_NOUNS[accept]} ending in one of "
                             f"{', '.join(sorted(allowed))}")
    return path


def resolve_source(media_root: Path, source: str, accept: MediaKind | None = None) -> Path:
    """The real file a source names, refusing anything that escapes `media_root` (symlinks too)."""
    relative = check_source(source, accept)
    root = media_root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise MediaPathError("resolves outside the media folder")
    return target
