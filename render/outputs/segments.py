"""The files of a recording: one name per segment, and the oldest deleted beyond a count.

A record output writes `<name-slug>-<UTC YYYYmmddTHHMMSSZ>.mkv` into the recordings folder
(`-2`, `-3`... added when that name is taken), a new file at the first keyframe after each
`segment_seconds`. The slug and the stamp make the files of one output easy to find among
the others, which is what `keep_segments` counts.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".mkv"
STAMP = "%Y%m%dT%H%M%SZ"
SLUG_LENGTH = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """`name` in lower-case letters, digits and dashes (a safe file name); "recording" when
    nothing of it is left."""
    return _NOT_SLUG.sub("-", name.lower()).strip("-")[:SLUG_LENGTH].strip("-") or "recording"


def new_segment(folder: Path, name: str, now: datetime.datetime | None = None) -> Path:
    """A new, empty file for the next segment of output `name`, claimed atomically so two
    senders (an output closing while it reopens) never share one."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime(STAMP)
    base, number = f"{slug(name)}-{stamp}", 1
    while True:
        path = folder / f"{base}{SUFFIX}" if number == 1 else folder / f"{base}-{number}{SUFFIX}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            number += 1
            continue
        return path


def segments_of(folder: Path, name: str) -> list[Path]:
    """The files output `name` wrote into `folder`, oldest first."""
    pattern = re.compile(rf"{re.escape(slug(name))}-(\d{{8}}T\d{{6}}Z)(?:-(\d+))?{SUFFIX}")
    found = []
    for path in folder.glob(f"{slug(name)}-*{SUFFIX}"):
        match = pattern.fullmatch(path.name)
        if match:
            found.append((match.group(1), int(match.group(2) or 1), path))
    return [path for *_order, path in sorted(found)]


def prune(folder: Path, name: str, keep: int, current: Path) -> list[Path]:
    """Delete the oldest files of output `name` beyond `keep`, not counting `current` (the
    file being written); the deleted paths."""
    try:
        closed = [path for path in segments_of(folder, name) if path != current]
    except OSError as exc:
        log.warning("cannot list the recordings of %s: %s", name, exc)
        return []
    doomed = closed[:max(0, len(closed) - keep)]
    for path in doomed:
        try:
            path.unlink(missing_ok=True)  # deleted meanwhile through the API: as wanted
        except OSError as exc:
            log.warning("cannot delete recording %s: %s", path.name, exc)
            continue
        log.info("recording %s deleted (keeping the newest %d)", path.name, keep)
    return doomed
