"""The media library: upload and list images for image layers."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, Response, request, send_file
from PIL import Image, UnidentifiedImageError
from werkzeug.datastructures import FileStorage

from app.body_limits import takes_upload
from app.http import resource_response
from app.services import services
from core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from core.media import IMAGE_EXTENSIONS, MediaPathError, check_source, resolve_source

blueprint = Blueprint("media", __name__, url_prefix="/media")


@blueprint.get("")
def list_media() -> Response:
    """Every image in the media library, by name."""
    root = services().settings.media_root
    items = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                info = _describe(path, root)
                if info is not None:
                    items.append(info)
    return resource_response(items)


@blueprint.get("/<path:name>")
def get_media(name: str) -> Response:
    """The image file itself."""
    try:
        path = resolve_source(services().settings.media_root, name)
    except MediaPathError:
        raise NotFound("no such media file", {"name": "not in the media library"}) from None
    if not path.is_file():
        raise NotFound("no such media file", {"name": "not in the media library"})
    return send_file(path, max_age=60)


@blueprint.post("")
@takes_upload
def upload_media() -> Response:
    """Upload one PNG, JPEG or WebP as multipart field `file` (optional `name`, `overwrite`)."""
    settings = services().settings
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("upload as multipart/form-data with a `file` field",
                                   {"Content-Type": f"got {request.mimetype or 'none'}"})
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("no file uploaded", {"file": "missing"})
    name = request.form.get("name") or upload.filename or ""
    root = settings.media_root
    root.mkdir(parents=True, exist_ok=True)
    try:
        check_source(name)
        if "/" in name:
            raise MediaPathError("must be a plain file name")
        # A symlink the operator left in the library may point outside it.
        target = resolve_source(root, name)
    except MediaPathError as exc:
        raise InvalidInput("the file name is not allowed", {"name": str(exc)}) from None
    overwrite = request.form.get("overwrite", "false").lower()
    if overwrite not in ("true", "false"):
        raise InvalidInput("overwrite must be true or false", {"overwrite": "not a boolean"})
    if target.exists() and overwrite != "true":
        raise Conflict(f"{name} exists; send overwrite=true to replace it",
                       {"name": "already exists"})
    _store_image(upload, target, settings.max_upload_bytes, settings.max_image_pixels)
    described = _describe(target, root)
    return resource_response(described, 201)


def _store_image(upload: FileStorage, target: Path, max_bytes: int, max_pixels: int) -> None:
    """Check the upload is a whole image of the format its name says, then move it in place."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_capped(upload.stream, out, max_bytes)
        _verify_image(temp, IMAGE_EXTENSIONS[target.suffix.lower()], max_pixels)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _copy_capped(source: IO[bytes], out: IO[bytes], max_bytes: int) -> None:
    written = 0
    while chunk := source.read(1 << 16):
        written += len(chunk)
        if written > max_bytes:
            raise PayloadTooLarge(f"images are limited to {max_bytes} bytes", {"file": "too large"})
        out.write(chunk)
    if written == 0:
        raise InvalidInput("the file is empty", {"file": "empty"})


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


def _describe(path: Path, root: Path) -> dict[str, Any] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height, kind = image.width, image.height, image.format
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    stat = path.stat()
    name = path.relative_to(root.resolve() if path.is_absolute() else root).as_posix()
    return {"name": name, "size": stat.st_size, "width": width, "height": height,
            "format": kind, "modifiedAt": int(stat.st_mtime * 1000)}
