"""The recordings API on real Matroska files written with PyAV: listing with start and length,
downloads with Range, deletes, and names that must not reach outside RECORDINGS_DIR."""

from __future__ import annotations

import dataclasses
import datetime
import fractions
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import redis
import schemathesis
from flask.testing import FlaskClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from core.config import Settings

FPS = 10
STAMP = "20250102T030405Z"
STAMP_MS = int(datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC).timestamp() * 1000)


class Recorder:
    """A Matroska file being written as the render worker writes one (H.264, a keyframe a
    second), from frames of noise: big enough packets that the writer's buffers (256 KiB of
    file output, the cluster being filled) hold well under a second."""

    def __init__(self, path: Path) -> None:
        self.container = av.open(str(path), "w", format="matroska")
        self.stream = self.container.add_stream("libx264", rate=FPS, options={
            "preset": "ultrafast", "tune": "zerolatency", "g": str(FPS)})
        self.stream.width, self.stream.height, self.stream.pix_fmt = 320, 180, "yuv420p"
        self.frames = 0
        self.noise = np.random.default_rng(7)

    def write(self, seconds: float) -> None:
        """Encode and mux `seconds` more of the program."""
        for _ in range(round(seconds * FPS)):
            image = self.noise.integers(0, 255, (180, 320, 3), np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = self.frames, fractions.Fraction(1, FPS)
            self.frames += 1
            for packet in self.stream.encode(frame):
                self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and write the trailer (with the duration)."""
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def record(path: Path, seconds: float) -> Path:
    """A whole recording of `seconds` at `path`."""
    recorder = Recorder(path)
    recorder.write(seconds)
    recorder.close()
    return path


@pytest.fixture
def folder(settings: Settings) -> Iterator[Path]:
    """RECORDINGS_DIR, emptied before and after each test."""
    def empty() -> None:
        for path in settings.recordings_dir.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()

    empty()
    yield settings.recordings_dir
    empty()


@pytest.fixture
def client(settings: Settings, redis_client: redis.Redis) -> Iterator[FlaskClient]:
    """The API app (recordings need no worker)."""
    app = create_app(settings)
    yield app.test_client()
    app.extensions["stream_manager"].close()


@pytest.fixture
def outside(settings: Settings) -> Iterator[Path]:
    """A recording-like file beside RECORDINGS_DIR, where `../outside.mkv` would reach."""
    path = settings.recordings_dir.parent / "outside.mkv"
    path.write_bytes(b"not yours")
    yield path
    path.unlink(missing_ok=True)


def listed(client: FlaskClient) -> dict[str, dict]:
    response = client.get("/stream/recordings")
    assert response.status_code == 200, response.get_json()
    return {item["name"]: item for item in response.get_json()}


def test_list_shows_name_bytes_start_and_duration(client: FlaskClient, folder: Path) -> None:
    stamped = record(folder / f"studio-a-{STAMP}.mkv", 3)
    numbered = record(folder / f"stream-{STAMP}-2.mkv", 2)
    plain = record(folder / "old.mkv", 2)
    os.utime(plain, (1_700_000_000, 1_700_000_000))
    (folder / f"new-{STAMP}.mkv").touch()  # just created: nothing to read yet
    (folder / "notes.txt").write_text("not a recording")
    (folder / ".tmp-part.mkv").write_bytes(b"hidden")
    (folder / "sub.mkv").mkdir()

    items = listed(client)
    assert set(items) == {stamped.name, numbered.name, plain.name, f"new-{STAMP}.mkv"}
    for name, item in items.items():
        assert set(item) == {"name", "bytes", "startedAt", "durationSeconds"}
        assert item["bytes"] == (folder / name).stat().st_size
    assert items[stamped.name]["startedAt"] == STAMP_MS
    assert items[stamped.name]["durationSeconds"] == pytest.approx(3, abs=0.15)
    assert items[numbered.name]["startedAt"] == STAMP_MS
    assert items[numbered.name]["durationSeconds"] == pytest.approx(2, abs=0.15)
    # No stamp: its last write minus its length.
    duration_ms = round(items[plain.name]["durationSeconds"] * 1000)
    assert items[plain.name]["startedAt"] == 1_700_000_000_000 - duration_ms
    assert items[f"new-{STAMP}.mkv"] == {"name": f"new-{STAMP}.mkv", "bytes": 0,
                                        "startedAt": STAMP_MS, "durationSeconds": None}
    # Newest first.
    assert [item["name"] for item in client.get("/stream/recordings").get_json()][-1] == "old.mkv"


def test_a_recording_being_written_reads_its_last_packet(client: FlaskClient,
                                                         folder: Path) -> None:
    path = folder / f"live-{STAMP}.mkv"
    recorder = Recorder(path)
    try:
        recorder.write(6)
        growing = listed(client)[path.name]
        # No duration in the file until its trailer: the last whole cluster's time instead
        # (the muxer holds the cluster it is filling, so a second or so behind).
        assert growing["durationSeconds"] is not None
        assert 3 <= growing["durationSeconds"] <= 6, growing
        recorder.write(4)
    finally:
        recorder.close()
    finished = listed(client)[path.name]
    assert finished["bytes"] == path.stat().st_size > growing["bytes"]
    assert finished["durationSeconds"] == pytest.approx(10, abs=0.15)


def test_download_whole_and_by_range(client: FlaskClient, folder: Path) -> None:
    path = record(folder / f"show-{STAMP}.mkv", 2)
    data = path.read_bytes()
    size = len(data)

    with client.get(f"/stream/recordings/{path.name}") as whole:
        assert whole.status_code == 200
        assert whole.data == data
        assert whole.mimetype == "video/x-matroska"
        assert whole.headers["Accept-Ranges"] == "bytes"
        assert whole.headers["Content-Disposition"] == f"attachment; filename={path.name}"

    with client.get(f"/stream/recordings/{path.name}", headers={"Range": "bytes=0-99"}) as head:
        assert head.status_code == 206
        assert head.data == data[:100]
        assert head.headers["Content-Range"] == f"bytes 0-99/{size}"

    with client.get(f"/stream/recordings/{path.name}", headers={"Range": "bytes=-50"}) as tail:
        assert tail.status_code == 206
        assert tail.data == data[-50:]
        assert tail.headers["Content-Range"] == f"bytes {size - 50}-{size - 1}/{size}"

    with client.get(f"/stream/recordings/{path.name}",
                    headers={"Range": f"bytes={size - 10}-{size + 1000}"}) as past:
        assert past.status_code == 206 and past.data == data[-10:]

    beyond = client.get(f"/stream/recordings/{path.name}", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.get_json()["error"] == "range_not_satisfiable"
    assert beyond.headers["Content-Range"] == f"bytes */{size}"


def test_the_answers_match_the_document(client: FlaskClient, folder: Path) -> None:
    path = record(folder / f"show-{STAMP}.mkv", 1)
    size = path.stat().st_size
    schema = schemathesis.openapi.from_wsgi("/openapi.json", client.application)
    download = schema["/stream/recordings/{name}"]["GET"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, response_headers_conformance]
    for name, headers, status in [
        (path.name, {}, 200), (path.name, {"Range": "bytes=0-99"}, 206),
        (path.name, {"Range": f"bytes={size}-"}, 416), ("gone.mkv", {}, 404),
    ]:
        case = download.Case(path_parameters={"name": name}, headers=headers)
        # Sent with the test client, which closes the file it streams when the block ends.
        with client.get(f"/stream/recordings/{name}", headers=headers) as response:
            case.validate_response(response, checks=checks)
            assert response.status_code == status, name
    listing = schema["/stream/recordings"]["GET"].Case()
    listing.validate_response(client.get("/stream/recordings"), checks=checks)


def test_delete_removes_the_file(client: FlaskClient, folder: Path) -> None:
    path = record(folder / f"show-{STAMP}.mkv", 1)
    kept = record(folder / f"other-{STAMP}.mkv", 1)
    assert client.delete(f"/stream/recordings/{path.name}").status_code == 204
    assert not path.exists() and kept.exists()
    assert set(listed(client)) == {kept.name}
    again = client.delete(f"/stream/recordings/{path.name}")
    assert again.status_code == 404 and again.get_json()["fields"] == {
        "name": "no recording of that name"}
    assert client.get(f"/stream/recordings/{path.name}").status_code == 404


def test_delete_while_it_is_being_written(client: FlaskClient, folder: Path) -> None:
    path = folder / f"live-{STAMP}.mkv"
    recorder = Recorder(path)
    try:
        recorder.write(2)
        assert client.delete(f"/stream/recordings/{path.name}").status_code == 204
        assert not path.exists() and listed(client) == {}
        # The writer keeps its handle: it goes on and closes its file without an error.
        recorder.write(2)
    finally:
        recorder.close()
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", [
    "../outside.mkv", "%2e%2e/outside.mkv", "%2E%2E%2Foutside.mkv", "..%2foutside.mkv",
    "..", "%2e%2e", "sub/inner.mkv", "%2Fetc%2Fpasswd", "a%00.mkv", "a%5c..%5coutside.mkv",
    "%2F..%2Foutside.mkv",
    ".hidden.mkv", "notes.txt", "show.MKV", "link.mkv", "dir.mkv", "x" * 300 + ".mkv",
])
def test_names_that_are_not_recordings_are_refused(client: FlaskClient, folder: Path,
                                                   outside: Path, name: str) -> None:
    (folder / "link.mkv").symlink_to(outside)
    (folder / "dir.mkv").mkdir()
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.mkv").write_bytes(b"in a subfolder")
    (folder / ".hidden.mkv").write_bytes(b"hidden")
    (folder / "notes.txt").write_bytes(b"notes")
    (folder / "show.MKV").write_bytes(b"upper case")
    before = sorted(path.name for path in folder.rglob("*"))

    for method in (client.get, client.delete):
        # A name starting with '/' makes "//": werkzeug redirects (308) to the path with the
        # slashes merged, where the rest is refused like any other name.
        response = method(f"/stream/recordings/{name}", follow_redirects=True)
        assert response.status_code == 404, (method, response.get_json())
        body = response.get_json()
        assert body["error"] == "not_found" and "name" in body["fields"], body

    assert outside.read_bytes() == b"not yours"
    assert sorted(path.name for path in folder.rglob("*")) == before
    assert listed(client) == {}


def test_the_viewer_may_read_and_download_but_not_delete(settings: Settings, folder: Path,
                                                         redis_client: redis.Redis) -> None:
    path = record(folder / f"show-{STAMP}.mkv", 1)
    app = create_app(dataclasses.replace(settings, api_token="operator", viewer_token="viewer"))
    try:
        client = app.test_client()
        viewer = {"Authorization": "Bearer viewer"}
        assert client.get("/stream/recordings").status_code == 401
        assert [item["name"] for item in client.get("/stream/recordings",
                                                    headers=viewer).get_json()] == [path.name]
        with client.get(f"/stream/recordings/{path.name}", headers=viewer) as download:
            assert download.status_code == 200 and download.data == path.read_bytes()
        assert client.delete(f"/stream/recordings/{path.name}",
                             headers=viewer).status_code == 403
        assert path.exists()
        assert client.delete(f"/stream/recordings/{path.name}",
                             headers={"Authorization": "Bearer operator"}).status_code == 204
    finally:
        app.extensions["stream_manager"].close()
