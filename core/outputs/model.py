"""The typed output model, and the URL rules every process shares.

An RTMP URL is `rtmp[s]://host[:port]/app[/key]`. The public part (`url` of an output, its
name by default) is everything but the key; the key travels apart and is only ever joined to
the URL inside the render worker, in the `OutputTarget` it hands to a sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

KINDS = ("rtmp", "record")
MAX_OUTPUTS = 16
DEFAULT_SEGMENT_SECONDS = 3600


@dataclass(frozen=True)
class NewOutput:
    """An output a client asked for, before the server gives it an id (and, when `name` is
    empty, a free name made from its URL, or "recording")."""

    name: str
    kind: str
    enabled: bool = True
    url: str | None = None  # rtmp: the ingest without its key
    key: str | None = None  # rtmp: the stream key (secret)
    segment_seconds: int | None = None  # record: length of each file
    keep_segments: int | None = None  # record: files kept (None: all)


@dataclass(frozen=True)
class Output:
    """A stored output. The key is not here: `has_key` says whether one is set."""

    id: str
    name: str
    kind: str
    enabled: bool
    url: str | None
    has_key: bool
    segment_seconds: int | None
    keep_segments: int | None
    version: int
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class OutputTarget:
    """What the render worker sends to: an output with its secret joined in.

    `address` is secret (an RTMP URL with its key, or the recordings folder); log `name`.
    Two targets that compare equal need no reconnect between them.
    """

    id: str
    name: str
    kind: str
    address: str
    segment_seconds: int | None = None
    keep_segments: int | None = None

    @property
    def is_file(self) -> bool:
        """True for a recording."""
        return self.kind == "record"

    @property
    def format(self) -> str:
        """The container format: flv for RTMP, Matroska for recordings."""
        return "matroska" if self.is_file else "flv"

    def __repr__(self) -> str:
        # Dataclasses put every field in repr; keep the address out of logs and tracebacks.
        return f"OutputTarget(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


def split_key(url: str) -> tuple[str, str | None]:
    """`rtmp://host/app/key` as (`rtmp://host/app`, `key`); a URL without a key segment (only
    the app) gives None. Query and user info belong to the key side and are refused by the
    schema, so only the path is looked at here."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) < 2:
        return url.rstrip("/"), None
    path = "/" + "/".join(segments[:-1])
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), segments[-1]


def public_name(url: str) -> str:
    """The URL without its last path segment (the key), query, fragment or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path.rstrip("/").rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def join_key(url: str, key: str | None) -> str:
    """The ingest URL the sender connects to."""
    return f"{url.rstrip('/')}/{key}" if key else url
