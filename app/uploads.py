"""Multipart uploads streamed straight into a file in their destination folder.

`request.files` would have werkzeug spool each file part into a SpooledTemporaryFile (memory up
to 500 KB, then the system temp folder), which the view then copies again into place: memory
stays bounded, but a 2 GiB video is written twice, and a temp folder on tmpfs would hold it in
RAM. Here werkzeug's own multipart parser runs with one change: the `file` part goes, in 64 KiB
chunks as the body is read, into a hidden temporary file in the destination folder, from which
the view moves it into place (one write, and an atomic rename on the same filesystem). Other
file parts are read and dropped. Text fields stay in memory, each capped by Flask's
MAX_FORM_MEMORY_SIZE (500 KB), which also caps what the parser buffers while looking for a
part's end.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from flask import request
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import MultiPartParser
from werkzeug.sansio.multipart import File

from core.errors import InvalidInput

# A name no listing shows: media names cannot start with a dot (core.media.check_source).
TEMP_PREFIX = ".upload-"


@dataclass(frozen=True)
class Upload:
    """A received multipart body: its text fields, and the file part, if one came, as a
    temporary file in the destination folder (`path`), with its client-side name and size."""

    form: MultiDict[str, str]
    path: Path | None
    filename: str | None
    size: int


class _Discard(io.RawIOBase):
    """Where file parts other than the upload go: read off the wire, kept nowhere."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return 0


class _StreamingParser(MultiPartParser):
    """werkzeug's multipart parser, writing the first part named `field` that carries a file
    into a temporary file in `folder`."""

    def __init__(self, folder: Path, field: str) -> None:
        super().__init__(max_form_memory_size=request.max_form_memory_size,
                         max_form_parts=request.max_form_parts)
        self._folder = folder
        self._field = field
        self.path: Path | None = None
        self.filename: str | None = None
        self.file: IO[bytes] | None = None

    def start_file_streaming(self, event: File, total_content_length: int | None) -> IO[bytes]:
        if event.name != self._field or self.file is not None:
            return cast(IO[bytes], _Discard())
        fd, name = tempfile.mkstemp(dir=self._folder, prefix=TEMP_PREFIX)
        self.path, self.filename = Path(name), event.filename
        self.file = os.fdopen(fd, "w+b")
        return self.file


@contextmanager
def streamed_upload(folder: Path, field: str = "file") -> Iterator[Upload]:
    """Read the request's multipart body, writing part `field` into a temporary file in
    `folder` as it arrives. The temporary file is removed on leaving, whatever happened,
    unless the caller moved it into place."""
    parser = _StreamingParser(folder, field)
    try:
        try:
            boundary = request.mimetype_params.get("boundary", "").encode("ascii")
            if not boundary:
                raise ValueError("no boundary in Content-Type")
            form, _files = parser.parse(request.stream, boundary, request.content_length)
        except ValueError as exc:
            raise InvalidInput("the multipart body cannot be read",
                               {"body": str(exc) or "malformed"}) from None
        finally:
            if parser.file is not None:
                parser.file.close()
        size = parser.path.stat().st_size if parser.path is not None else 0
        yield Upload(form, parser.path, parser.filename, size)
    finally:
        if parser.path is not None:
            parser.path.unlink(missing_ok=True)
