"""Where the stream goes: RTMP ingests and/or a recording file, each with a public name.

A stream key is a secret. Only `OutputTarget.url` holds it; every name, state and error
message uses the public name (the URL without key, query or user info) instead.
"""

from __future__ import annotations

import datetime
import pathlib
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


@dataclass(frozen=True)
class OutputTarget:
    """One destination. `url` is secret (it holds the stream key); log `name` instead."""

    name: str
    url: str = ""
    format: str = "flv"  # "flv" or "matroska"
    is_file: bool = False

    def __repr__(self) -> str:
        # Dataclasses put every field in repr; keep the URL out of logs and tracebacks.
        return f"OutputTarget(name={self.name!r}, format={self.format!r})"


def build_targets(rtmp_urls: tuple[str, ...], recordings_dir: pathlib.Path | None,
                  *, record: bool = False) -> list[OutputTarget]:
    """One target per RTMP URL, plus a Matroska recording in `recordings_dir`.

    The recording is the default output: it is added when there is no RTMP URL, and beside
    the ingests when `record` is true.
    """
    targets: list[OutputTarget] = []
    names: set[str] = set()
    for url in rtmp_urls:
        name = _unique(public_name(url), names)
        targets.append(OutputTarget(name=name, url=url, format="flv"))
    if record or not rtmp_urls:
        if recordings_dir is None:
            raise ValueError("a recording needs a recordings directory")
        directory = recordings_dir.resolve()
        name = _unique(f"file://{directory}", names)
        path = directory / f"stream-{_utc_stamp()}.mkv"
        targets.append(OutputTarget(name=name, url=str(path), format="matroska", is_file=True))
    return targets


def public_name(url: str) -> str:
    """The URL without its last path segment (the key), query, fragment or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path.rstrip("/").rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def redact(text: str, target: OutputTarget) -> str:
    """`text` with the target's URL replaced by its name and any secret part masked."""
    if target.is_file or not target.url:
        return text
    parts = urlsplit(target.url)
    secrets = [parts.path.rstrip("/").rsplit("/", 1)[-1], parts.query, parts.password or ""]
    # Replace the whole URL first so the name reads naturally, then any fragment of it.
    text = text.replace(target.url, "\0")
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text.replace("\0", target.name)


def numbered_path(path: pathlib.Path, number: int) -> pathlib.Path:
    """The first free file among `path` (number 1) and stem-N.suffix for N >= number."""
    if number <= 1 and not path.exists():
        return path
    number = max(number, 2)
    while (candidate := path.with_name(f"{path.stem}-{number}{path.suffix}")).exists():
        number += 1
    return candidate


def _utc_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name}#{number}"
        number += 1
    taken.add(candidate)
    return candidate
