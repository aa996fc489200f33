"""The media library: images, videos and audio files for layers; upload, list, serve, and a
poster frame of each video.

Files, not state in Redis: the API reads and writes MEDIA_ROOT itself, as it does recordings.
Uploads are streamed to disk (app.uploads) and checked before they take their name: images with
Pillow, video and audio with a PyAV probe (core.media_probe).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, request, send_file
from PIL import Image, UnidentifiedImageError

from app.body_limits import takes_upload
from app.http import resource_response
from app.services import services
from app.uploads import Upload, streamed_upload
from core.config import Settings
from core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from core.media import (
    IMAGE_EXTENSIONS,
    MEDIA_TYPES,
    MediaKind,
    MediaPathError,
    check_source,
    media_format,
    media_kind,
    resolve_source,
)
from core.media_probe import MediaInfo, ProbeError, poster, probe

blueprint = Blueprint("media", __name__, url_prefix="/media")
_NOT_IN_LIBRARY = {"name": "not in the media library"}


@blueprint.get("")
def list_media() -> Response:
    """Every image, video and audio file in the media library, by name: `name`, `size`, `kind`,
    `format`, `width`, `height`, `duration`, `fps`, `videoCodec`, `audioCodec`, `modifiedAt`
    and `poster` (a video's poster frame URL). Files that do not read as their name says are
    left out."""
    root = services().settings.media_root
    items = []
    if root.is_dir():
        resolved = root.resolve()
        for path in sorted(root.rglob("*")):
            if path.is_file():
                described = _describe(path, path.relative_to(root).as_posix(), resolved)
                if described is not None:
                    items.append(described)
    return resource_response(items)


@blueprint.get("/<path:name>")
def get_media(name: str) -> Response:
    """The file itself (Range requests answer 206, so a video can be played from it)."""
    path = _library_file(name)
    # By the name asked for: a symlink inside the library may point to another name.
    return send_file(path, mimetype=MEDIA_TYPES[Path(name).suffix.lower()], max_age=60)


@blueprint.get("/<path:name>/poster")
def get_poster(name: str) -> Response:
    """A video's poster: a JPEG of its frame at 1 s (mid-clip for clips under 2 s), fitting
    in 640x640. 404 for anything that is not a video that decodes."""
    path = _library_file(name)
    if media_kind(name) != "video":
        raise NotFound("only videos have a poster", {"name": "not a video"})
    try:
        jpeg = poster(path)
    except ProbeError as exc:
        raise NotFound("the video has no poster", {"name": str(exc)}) from None
    response = Response(jpeg, mimetype="image/jpeg")
    response.cache_control.max_age = 60
    return response


@blueprint.post("")
@takes_upload
def upload_media() -> Response:
    """Upload an image (PNG, JPEG, WebP), a video (MP4, MOV, MKV, WebM) or an audio file (M4A,
    MP3, WAV, Ogg, Opus, FLAC) as multipart field `file`, with optional `name` and `overwrite`.
    The body is streamed to disk; the file must read as its name says (a video or audio file
    must have a stream that decodes), else 400 naming `file`, and nothing is kept."""
    settings = services().settings
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("upload as multipart/form-data with a `file` field",
                                   {"Content-Type": f"got {request.mimetype or 'none'}"})
    root = settings.media_root
    root.mkdir(parents=True, exist_ok=True)
    with streamed_upload(root) as upload:
        if upload.path is None:
            raise InvalidInput("no file uploaded", {"file": "missing"})
        name = upload.form.get("name") or upload.filename or ""
        target = _upload_target(root, name, upload)
        _check_content(upload.path, name, upload.size, settings)
        os.replace(upload.path, target)
    return resource_response(_describe(target, name, root.resolve()), 201)


def _library_file(name: str) -> Path:
    """The file `name` names in the library, or 404 naming `name`."""
    try:
        path = resolve_source(services().settings.media_root, name)
    except MediaPathError:
        raise NotFound("no such media file", _NOT_IN_LIBRARY) from None
    if not path.is_file():
        raise NotFound("no such media file", _NOT_IN_LIBRARY)
    return path


def _upload_target(root: Path, name: str, upload: Upload) -> Path:
    """Where the upload will be stored: a plain, free (or overwritable) name in the library."""
    try:
        check_source(name)
        if "/" in name:
            raise MediaPathError("must be a plain file name")
        # A symlink the operator left in the library may point outside it.
        target = resolve_source(root, name)
    except MediaPathError as exc:
        raise InvalidInput("the file name is not allowed", {"name": str(exc)}) from None
    overwrite = upload.form.get("overwrite", "false").lower()
    if overwrite not in ("true", "false"):
        raise InvalidInput("overwrite must be true or false", {"overwrite": "not a boolean"})
    if target.exists() and overwrite != "true":
        raise Conflict(f"{name} exists; send overwrite=true to replace it",
                       {"name": "already exists"})
    return target


def _check_content(path: Path, name: str, size: int, settings: Settings) -> None:
    """The upload is within its kind's size limit and reads as its name says."""
    kind = media_kind(name)
    if size == 0:
        raise InvalidInput("the file is empty", {"file": "empty"})
    if kind == "image":
        if size > settings.max_upload_bytes:
            raise PayloadTooLarge(f"images are limited to {settings.max_upload_bytes} bytes",
                                  {"file": "too large"})
        _verify_image(path, IMAGE_EXTENSIONS[Path(name).suffix.lower()],
                      settings.max_image_pixels)
        return
    if size > settings.max_media_upload_bytes:
        raise PayloadTooLarge(
            f"video and audio files are limited to {settings.max_media_upload_bytes} bytes",
            {"file": "too large"})
    try:
        info = probe(path)
    except ProbeError as exc:
        raise InvalidInput(f"{name}: {exc}", {"file": f"{name} {exc}"}) from None
    missing = _missing_stream(info, kind)
    if missing:
        raise InvalidInput(f"{name}: {missing}", {"file": f"{name} {missing}"})


def _missing_stream(info: MediaInfo, kind: MediaKind | None) -> str | None:
    """What a probed file lacks to be the kind its name says, or None."""
    if kind == "video" and info.kind != "video":
        return "has sound but no picture that decodes (name it .m4a, .mp3, ... for audio)"
    if kind == "audio" and info.audio_codec is None:
        return "has no sound that decodes"
    return None


def _verify_image(path: Path, expected_format: str, max_pixels: int) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise PayloadTooLarge(
                        f"images are limited to {max_pixels} pixels",
                        {"file": f"{width}x{height} is too many pixels"})
                if image.format != expected_format:
                    raise InvalidInput("the file's content does not match its name",
                                       {"file": f"is {image.format}, name says {expected_format}"})
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge("the image has too many pixels",
                              {"file": "too many pixels"}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput("the file is not a readable PNG, JPEG or WebP image",
                           {"file": "not a valid image"}) from None


def _describe(path: Path, name: str, root: Path) -> dict[str, Any] | None:
    """A library entry, or None for a file that is not one: a name the library does not use
    (hidden files, uploads in progress), a symlink out of the library, or content that does
    not read as its name says."""
    try:
        check_source(name)
        resolved = path.resolve()
        stat = resolved.stat()
    except (MediaPathError, OSError):
        return None
    if not resolved.is_relative_to(root):
        return None
    kind = media_kind(name)
    found = _read_image(resolved) if kind == "image" else _read_av(resolved, kind)
    if found is None:
        return None
    return {"name": name, "size": stat.st_size, "kind": kind, "format": media_format(name),
            **found, "modifiedAt": int(stat.st_mtime * 1000),
            "poster": f"/media/{quote(name)}/poster" if kind == "video" else None}


def _read_image(path: Path) -> dict[str, Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.width, image.height
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return {"width": width, "height": height, "duration": None, "fps": None,
            "videoCodec": None, "audioCodec": None}


def _read_av(path: Path, kind: MediaKind | None) -> dict[str, Any] | None:
    try:
        info = probe(path)
    except ProbeError:
        return None
    if _missing_stream(info, kind):
        return None
    return {"width": info.width, "height": info.height, "duration": info.duration,
            "fps": info.fps, "videoCodec": info.video_codec, "audioCodec": info.audio_codec}
