"""Recordings: the files record outputs write, listed, downloaded (Range requests) and deleted.

They are files in RECORDINGS_DIR, not state in Redis, so the API reads and removes them itself,
as it stores media uploads; core.recordings decides what a name may reach.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_file

from app.http import resource_response
from app.services import services
from core.errors import NotFound
from core.recordings import MEDIA_TYPES, Recording, Recordings

blueprint = Blueprint("recordings", __name__, url_prefix="/stream/recordings")
_EXTENSION = "recordings"


@blueprint.get("")
def list_recordings() -> Response:
    """Every recording, newest first: `name`, `bytes`, `startedAt` (epoch ms) and
    `durationSeconds` (null while a new file cannot be read yet)."""
    return resource_response([_describe(recording)
                              for recording in _recordings().newest_first()])


@blueprint.get("/<path:name>")
def get_recording(name: str) -> Response:
    """The recording file. A Range request answers 206 with that part, or 416 when it starts
    past the end; a file still being written is served as long as it is when asked."""
    path = _recordings().path(name)
    try:
        # conditional: Range, If-Range, If-None-Match and If-Modified-Since, by werkzeug.
        return send_file(path, mimetype=MEDIA_TYPES[path.suffix], as_attachment=True,
                         conditional=True)
    except FileNotFoundError:
        raise NotFound("no such recording", {"name": "deleted just now"}) from None


@blueprint.delete("/<path:name>")
def delete_recording(name: str) -> Response:
    """Delete a recording (204). One still being written is deleted too: it leaves the folder
    at once, and its writer goes on into the unlinked file until its segment ends."""
    _recordings().delete(name)
    return resource_response(None, 204)


def _recordings() -> Recordings:
    """The app's recordings folder, with its cache of durations kept for the app's life."""
    found: Recordings | None = current_app.extensions.get(_EXTENSION)
    if found is None:
        # setdefault: two first requests at once still share one cache.
        found = current_app.extensions.setdefault(
            _EXTENSION, Recordings(services().settings.recordings_dir))
    return found


def _describe(recording: Recording) -> dict[str, object]:
    return {"name": recording.name, "bytes": recording.size,
            "startedAt": recording.started_at, "durationSeconds": recording.duration_seconds}
