"""Masking the secrets a pull URL may carry, for every read, event and log line.

An input URL can hold a password (`rtsp://user:pass@cam/...`), a stream key in its path
(`rtmp://host/app/KEY`, as output keys are) or a token in its query (`?token=...`). The
stored layer keeps the real URL; everything shown keeps only what tells the operator which
source it is: scheme, host, port, user name and, for RTMP, the application.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

HIDDEN = "***"
# Where the path after the application is the stream key.
_KEYED_SCHEMES = {"rtmp", "rtmps"}


def mask_url(url: str) -> str:
    """`url` with its password, stream key and query values replaced by ***."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return HIDDEN
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    if parts.username is not None:
        password = f":{HIDDEN}" if parts.password is not None else ""
        netloc = f"{parts.username}{password}@{netloc}"
    path = parts.path
    if parts.scheme.lower() in _KEYED_SCHEMES:
        segments = [segment for segment in path.split("/") if segment]
        if len(segments) > 1:
            path = f"/{segments[0]}/{HIDDEN}"
    query = "&".join(f"{name}={HIDDEN}" for name, _ in parse_qsl(parts.query,
                                                                 keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, path, query, ""))
