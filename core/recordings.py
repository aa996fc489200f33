"""Recordings on disk: list them with their start and length, find one by name, delete one.

A recording is a regular file directly in RECORDINGS_DIR with a plain, safe name ending in
.mkv, .mp4 or .flv; the render worker names them `<output>-<UTC YYYYmmddTHHMMSSZ>[-N].mkv`.
Nothing else in the folder is listed or served: not hidden or temporary files, not
subfolders, and not symlinks (one could point anywhere), so no name reaches outside it.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from core.errors import NotFound
from core.matroska import last_block_ticks

log = logging.getLogger(__name__)

MEDIA_TYPES = {".mkv": "video/x-matroska", ".mp4": "video/mp4", ".flv": "video/x-flv"}
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}\.(mkv|mp4|flv)$"
_NAME = re.compile(NAME_PATTERN)
# The start the render worker stamps into a name, with an optional -N of a name taken twice.
_STAMP = re.compile(r"(?:^|-)(\d{8}T\d{6}Z)(?:-\d+)?\.[a-z0-9]+$")
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_LATEST_MS = 10**14  # about the year 5000: a later stamp is not a real one

Probe = Callable[[Path], float | None]


@dataclass(frozen=True)
class Recording:
    """One recording as listed: `started_at` in epoch ms, `duration_seconds` None while the
    file cannot be read yet."""

    name: str
    size: int
    started_at: int
    duration_seconds: float | None


class RecordingNameError(ValueError):
    """A name that cannot be a recording; the message says why."""


def check_name(name: str) -> str:
    """`name` if it may name a recording: a plain file name of letters, digits and . _ -
    ending in .mkv, .mp4 or .flv (no folder, no '..', no NUL, not hidden)."""
    if "/" in name or "\\" in name or "\x00" in name:
        raise RecordingNameError("must be a plain file name (no '/', '\\' or NUL)")
    if name in (".", "..") or name.startswith("."):
        raise RecordingNameError("must not start with '.'")
    if not _NAME.fullmatch(name):
        raise RecordingNameError("letters, digits and . _ - only, up to 204 characters, "
                                 "ending in .mkv, .mp4 or .flv")
    return name


def probe_duration(path: Path) -> float | None:
    """The recording's length in seconds: the container's duration, or for a Matroska file
    still being written (no duration until its trailer) the time of its last whole block;
    None when the file cannot be read yet (no header, no cluster, not a media file)."""
    try:
        with av.open(str(path)) as container:
            if container.duration is not None and container.duration > 0:
                return float(container.duration / av.time_base)
            if not container.format.name.startswith("matroska") or not container.streams:
                return None
            ticks = last_block_ticks(path)
            if ticks is None:
                return None
            # Matroska gives every stream the file's TimestampScale as its time base.
            time_base = container.streams[0].time_base
            if time_base is None:
                return None
            start = (container.start_time or 0) / av.time_base
            return max(0.0, float(ticks * time_base) - start)
    except (av.error.FFmpegError, OSError) as exc:
        log.debug("cannot probe recording %s yet: %s", path.name, exc)
        return None


class DurationCache:
    """Durations by file, probed again only when the file's size or mtime changes, so listing
    many recordings costs one probe each, and only the files being written are probed again."""

    def __init__(self, probe: Probe = probe_duration) -> None:
        self._probe = probe
        self._known: dict[Path, tuple[int, int, float | None]] = {}
        self._lock = threading.Lock()

    def duration(self, path: Path, stat: os.stat_result) -> float | None:
        """The duration of `path` as it is in `stat`."""
        key = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._known.get(path)
        if known is not None and known[:2] == key:
            return known[2]
        value = self._probe(path)
        with self._lock:
            self._known[path] = (*key, value)
        return value

    def keep_only(self, present: set[Path]) -> None:
        """Forget the files that are gone."""
        with self._lock:
            for path in self._known.keys() - present:
                del self._known[path]


class Recordings:
    """The recordings folder: list, find and delete recordings by name."""

    def __init__(self, directory: Path, durations: DurationCache | None = None) -> None:
        self._directory = directory
        self._durations = durations or DurationCache()

    def newest_first(self) -> list[Recording]:
        """Every recording, newest first."""
        try:
            entries = list(os.scandir(self._directory))
        except FileNotFoundError:
            return []  # nothing recorded yet
        found = []
        for entry in entries:
            if not _NAME.fullmatch(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted while listing
            duration = self._durations.duration(Path(entry.path), stat)
            found.append(Recording(entry.name, stat.st_size,
                                   started_at(entry.name, stat, duration), duration))
        self._durations.keep_only({self._directory / recording.name for recording in found})
        found.sort(key=lambda recording: (recording.started_at, recording.name), reverse=True)
        return found

    def path(self, name: str) -> Path:
        """The file `name` names (404 naming `name` when it is not a recording here)."""
        try:
            check_name(name)
        except RecordingNameError as exc:
            raise NotFound("no such recording", {"name": str(exc)}) from None
        root = self._directory.resolve()
        candidate = root / name
        if candidate.is_symlink():
            raise NotFound("no such recording", {"name": "a symlink, not a recording"})
        # The name rules leave nothing that could escape; checked again on the real path.
        target = candidate.resolve()
        if target.parent != root:
            raise NotFound("no such recording", {"name": "outside the recordings folder"})
        if not target.is_file():
            raise NotFound("no such recording", {"name": "no recording of that name"})
        return target

    def delete(self, name: str) -> None:
        """Remove the recording `name`. One still being written disappears from the folder at
        once; its writer keeps its open handle and its bytes are freed when it closes."""
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound("no such recording", {"name": "no recording of that name"}) from None
        log.info("recording %s deleted", name)


def started_at(name: str, stat: os.stat_result, duration: float | None) -> int:
    """When a recording began, in epoch ms: the UTC stamp in its name, else its last write
    minus its duration, else its last write."""
    match = _STAMP.search(name)
    if match:
        try:
            stamp = datetime.datetime.strptime(match.group(1), _STAMP_FORMAT)
            stamp_ms = int(stamp.replace(tzinfo=datetime.UTC).timestamp() * 1000)
        except (ValueError, OverflowError):
            stamp_ms = -1  # digits that are not a date: fall back to the file's times
        if 0 <= stamp_ms <= _LATEST_MS:
            return stamp_ms
    modified_ms = stat.st_mtime_ns // 1_000_000
    if duration is None:
        return modified_ms
    return max(0, modified_ms - round(duration * 1000))
