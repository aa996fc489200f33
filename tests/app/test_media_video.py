"""Video and audio in the media library, on real files written with PyAV: uploads are probed
(no decodable stream: 400 naming `file`, nothing kept), listed with their streams, and videos
get a poster frame; a 300 MB upload through the real API process keeps its memory flat."""

from __future__ import annotations

import dataclasses
import fractions
import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import pytest
import requests
from flask.testing import FlaskClient
from PIL import Image

from app import create_app
from core.config import Settings
from tests.support.api_server import ApiServer
from tests.support.processes import wait_until

FPS = 25
SIZE = (64, 48)


def write_clip(path: Path, seconds: float = 2.0, *, video: bool = True,
               audio: bool = True, container: str | None = None) -> bytes:
    """A small clip: H.264 frames whose grey level is 4 x the frame number (so a frame's time
    can be read back from its pixels) and/or AAC (PCM in WAV) silence. Returns its bytes."""
    with av.open(str(path), "w", format=container) as out:
        # Every stream before the first packet: the header is written with the first mux.
        picture = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"}) \
            if video else None
        sound = out.add_stream("pcm_s16le" if path.suffix == ".wav" else "aac", rate=48000,
                               layout="stereo") if audio else None
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = *SIZE, "yuv420p"
            for index in range(round(seconds * FPS)):
                grey = np.full((SIZE[1], SIZE[0], 3), index * 4 % 256, np.uint8)
                frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
                frame.pts, frame.time_base = index, fractions.Fraction(1, FPS)
                out.mux(picture.encode(frame))
            out.mux(picture.encode())
        if sound is not None:
            samples = 1024
            for index in range(round(seconds * 48000 / samples)):
                chunk = av.AudioFrame.from_ndarray(np.zeros((1, samples * 2), np.int16),
                                                   format="s16", layout="stereo")
                chunk.sample_rate, chunk.pts = 48000, index * samples
                chunk.time_base = fractions.Fraction(1, 48000)
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path.read_bytes()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each clip the tests upload, written once."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "clip.mp4": write_clip(folder / "clip.mp4"),
        "short.mkv": write_clip(folder / "short.mkv", 0.4, audio=False),
        "song.m4a": write_clip(folder / "song.m4a", video=False),
        "tone.wav": write_clip(folder / "tone.wav", video=False),
        "blip.wav": write_clip(folder / "blip.wav", 0.02, video=False),
    }


@pytest.fixture(autouse=True)
def empty_media(settings: Settings) -> None:
    for path in settings.media_root.iterdir():
        path.unlink()


def upload(client: FlaskClient, data: bytes, filename: str, **form: str):
    return client.post("/media", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def test_a_video_is_probed_listed_and_given_a_poster_near_one_second(
        client: FlaskClient, clips: dict[str, bytes]) -> None:
    response = upload(client, clips["clip.mp4"], "clip.mp4")
    assert response.status_code == 201, response.get_json()
    described = response.get_json()
    assert described == {
        "name": "clip.mp4", "size": len(clips["clip.mp4"]), "kind": "video", "format": "MP4",
        "width": 64, "height": 48, "duration": pytest.approx(2.0, abs=0.1), "fps": 25.0,
        "videoCodec": "h264", "audioCodec": "aac", "modifiedAt": described["modifiedAt"],
        "poster": "/media/clip.mp4/poster"}
    assert client.get("/media").get_json() == [described]

    poster = client.get(described["poster"])
    assert poster.status_code == 200 and poster.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(poster.data))
    assert image.format == "JPEG" and image.size == SIZE
    # Frame n is grey 4n: the frame at 1 s (n = 25) is grey 100.
    assert abs(image.convert("L").getpixel((32, 24)) - 100) <= 8

    with client.get("/media/clip.mp4") as served:
        assert served.mimetype == "video/mp4" and served.data == clips["clip.mp4"]


def test_a_short_clip_gets_its_middle_frame_as_poster(client: FlaskClient,
                                                      clips: dict[str, bytes]) -> None:
    assert upload(client, clips["short.mkv"], "short.mkv").status_code == 201
    listed = client.get("/media").get_json()[0]
    assert (listed["kind"], listed["format"], listed["audioCodec"]) == ("video", "MKV", None)
    poster = client.get("/media/short.mkv/poster")
    # 0.4 s long: the frame at 0.2 s (n = 5) is grey 20.
    grey = Image.open(io.BytesIO(poster.data)).convert("L").getpixel((32, 24))
    assert abs(grey - 20) <= 8


@pytest.mark.parametrize(("name", "codec"), [("song.m4a", "aac"), ("tone.wav", "pcm_s16le")])
def test_audio_files_are_listed_without_a_picture_or_poster(
        client: FlaskClient, clips: dict[str, bytes], name: str, codec: str) -> None:
    response = upload(client, clips[name], name)
    assert response.status_code == 201, response.get_json()
    described = response.get_json()
    assert described["kind"] == "audio" and described["audioCodec"] == codec
    assert described["duration"] == pytest.approx(2.0, abs=0.1)
    assert (described["width"], described["height"], described["fps"],
            described["videoCodec"], described["poster"]) == (None,) * 5
    poster = client.get(f"/media/{name}/poster")
    assert poster.status_code == 404 and poster.get_json()["fields"]["name"] == "not a video"


def test_an_image_lists_with_the_same_fields(client: FlaskClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (255, 0, 0)).save(buffer, "PNG")
    assert upload(client, buffer.getvalue(), "logo.png").status_code == 201
    listed = client.get("/media").get_json()[0]
    assert {key: listed[key] for key in ("kind", "format", "width", "duration", "poster")} == {
        "kind": "image", "format": "PNG", "width": 8, "duration": None, "poster": None}


@pytest.mark.parametrize(("clip", "name", "reason"), [
    (None, "notes.mp4", "is not a video or audio file"),
    ("song.m4a", "song.mp4", "has sound but no picture"),
    ("short.mkv", "short.mp3", "has no sound"),
])
def test_a_file_that_does_not_decode_as_its_name_says_is_refused_and_removed(
        client: FlaskClient, settings: Settings, clips: dict[str, bytes], clip: str | None,
        name: str, reason: str) -> None:
    data = clips[clip] if clip else b"These are my notes, not a video.\n" * 100
    response = upload(client, data, name)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["fields"]["file"].startswith(f"{name} {reason}"), body
    assert name in body["message"]
    assert list(settings.media_root.iterdir()) == []
    assert client.get("/media").get_json() == []


def test_an_image_layer_cannot_name_a_video(client: FlaskClient,
                                            clips: dict[str, bytes]) -> None:
    assert upload(client, clips["clip.mp4"], "clip.mp4").status_code == 201
    response = client.post("/stream/layers", json={"type": "image",
                                                   "content": {"source": "clip.mp4"}})
    assert response.status_code == 400
    assert "must be an image" in response.get_json()["fields"]["content.source"]


def test_video_and_audio_have_their_own_size_limit(settings: Settings, redis_client,
                                                   clips: dict[str, bytes]) -> None:
    media_limit = len(clips["clip.mp4"]) - 1
    app = create_app(dataclasses.replace(settings, max_upload_bytes=1024,
                                         max_media_upload_bytes=media_limit))
    noise = Image.frombytes("L", (64, 64), np.random.default_rng(1).bytes(64 * 64))
    png = io.BytesIO()
    noise.save(png, "PNG")
    # Both under the body limit (the larger of the two), over the image limit.
    assert 1024 < len(clips["blip.wav"]) < media_limit
    assert 1024 < len(png.getvalue()) < media_limit
    try:
        client = app.test_client()
        for data, name in ((clips["clip.mp4"], "clip.mp4"), (png.getvalue(), "noise.png")):
            response = upload(client, data, name)
            assert response.status_code == 413, response.get_json()
            assert response.get_json()["fields"] == {"file": "too large"}
        assert list(settings.media_root.iterdir()) == []
        # Audio has the media limit.
        assert upload(client, clips["blip.wav"], "blip.wav").status_code == 201
    finally:
        app.extensions["stream_manager"].close()


def test_files_the_library_does_not_use_are_not_listed(client: FlaskClient, settings: Settings,
                                                       clips: dict[str, bytes]) -> None:
    (settings.media_root / ".upload-abc123").write_bytes(clips["clip.mp4"])
    (settings.media_root / ".hidden.mp4").write_bytes(clips["clip.mp4"])
    (settings.media_root / "notes.txt").write_text("hello")
    (settings.media_root / "broken.mkv").write_text("not matroska")
    assert client.get("/media").get_json() == []


def test_the_upload_form_may_come_in_any_order_and_carry_other_files(
        client: FlaskClient, clips: dict[str, bytes]) -> None:
    boundary = "b0undary"
    parts = [("file", "clip.mp4", clips["clip.mp4"]), ("other", "x.bin", b"\0" * 1000),
             ("name", None, b"renamed.mp4"), ("file", "second.mp4", b"ignored")]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'.encode()
        + (f'; filename="{filename}"'.encode() if filename else b"") + b"\r\n\r\n" + data
        + b"\r\n" for field, filename, data in parts) + f"--{boundary}--\r\n".encode()
    response = client.post("/media", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "renamed.mp4"
    assert response.get_json()["size"] == len(clips["clip.mp4"])


def test_a_malformed_multipart_body_is_a_400(client: FlaskClient, settings: Settings) -> None:
    response = client.post("/media", data=b"no boundary here",
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "body" in response.get_json()["fields"]
    response = client.post("/media", data=b"--x\r\nContent-Disposition: form-data; name=\"file\"",
                           content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400
    assert list(settings.media_root.iterdir()) == []


# ---- the real API process ---------------------------------------------------------------------

BIG_BYTES = 300 * 1024 * 1024
# The API (gunicorn master and workers together) may grow by this much while taking it.
MEMORY_LIMIT = 100 * 1024 * 1024
_CHUNK = bytes(1 << 20)


class PaddedClip:
    """A multipart body of `total` bytes, made while it is sent: a real MP4 followed by an
    MP4 `free` box of zeros (which players skip), so the file is a valid video of any size
    and neither the test nor the API ever holds more than a chunk of it."""

    boundary = "padded-clip-boundary"

    def __init__(self, clip: bytes, total_file_bytes: int, name: str) -> None:
        self.clip = clip
        self.padding = total_file_bytes - len(clip)
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                     f"filename=\"{name}\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + len(self.clip) + self.padding + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head + self.clip + self.padding.to_bytes(4, "big") + b"free"
        left = self.padding - 8
        while left > 0:
            yield _CHUNK[:min(left, len(_CHUNK))]
            left -= len(_CHUNK)
        yield self.tail


def group_rss(group: int) -> dict[int, int]:
    """Resident bytes of each process in process group `group` (the master and workers)."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            # Fields after the command name, which is in parentheses and may hold spaces.
            if int(stat.rsplit(")", 1)[1].split()[2]) != group:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if rss:
            found[int(entry)] = int(rss.group(1)) * 1024
    return found


class PeakSampler(threading.Thread):
    """Samples a process group's RSS every 10 ms until stopped; keeps the peak."""

    def __init__(self, group: int) -> None:
        super().__init__(daemon=True)
        self.group = group
        self.peak = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, sum(group_rss(self.group).values()))
            self.samples += 1
            self._done.wait(0.01)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


@pytest.fixture
def api_process(base_env: dict[str, str], redis_client, tmp_path: Path) -> Iterator[ApiServer]:
    """The API as supervisord runs it (gunicorn, 2 workers, threads), with its own library."""
    media = tmp_path / "media"
    media.mkdir()
    server = ApiServer({**base_env, "MEDIA_ROOT": str(media)}, tmp_path).start()
    yield server
    server.stop()
    # pytest keeps the last runs' folders: not with a 300 MB file in each.
    shutil.rmtree(media)


def test_a_300_mb_upload_is_streamed_to_disk_with_flat_memory(
        api_process: ApiServer, clips: dict[str, bytes], tmp_path: Path) -> None:
    url = f"{api_process.url}/media"
    group = api_process.pid
    assert group is not None
    # The master and both workers (--workers 2 in supervisord.conf) up, and each warmed up
    # by uploads (probed and all) sent at once, so both take some.
    wait_until(lambda: len(group_rss(group)) == 3, 30, "both API workers")

    def warm_up(index: int) -> int:
        files = {"file": (f"warm{index}.mp4", clips["clip.mp4"])}
        return requests.post(url, files=files, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(warm_up, range(16))) == {201}
    assert requests.get(url, timeout=10).status_code == 200
    idle = max(sum(group_rss(group).values()) for _ in range(5))

    body = PaddedClip(clips["clip.mp4"], BIG_BYTES, "big.mp4")
    sampler = PeakSampler(group)
    sampler.start()
    started = time.monotonic()
    try:
        response = requests.post(url, data=body, headers={"Content-Type": body.content_type},
                                 timeout=300)
    finally:
        peak = sampler.stop()
    elapsed = time.monotonic() - started
    grown = peak - idle
    print(f"300 MB upload in {elapsed:.1f} s; API RSS (master and 2 workers) idle "
          f"{idle / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB (+{grown / 2**20:.1f} MiB), "
          f"{sampler.samples} samples")

    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["size"] == BIG_BYTES and stored["kind"] == "video"
    assert stored["duration"] == pytest.approx(2.0, abs=0.1)
    assert (tmp_path / "media" / "big.mp4").stat().st_size == BIG_BYTES
    assert sampler.samples > 10, "the upload was too quick to sample"
    assert grown < MEMORY_LIMIT, f"the API grew by {grown / 2**20:.1f} MiB"
    assert not list((tmp_path / "media").glob(".upload-*"))


def test_a_chunked_upload_to_the_api_process_is_probed_and_refused_when_it_is_text(
        api_process: ApiServer, clips: dict[str, bytes], tmp_path: Path) -> None:
    body = PaddedClip(b"This is a text file, not a video.\n" * 10, 1 << 20, "notes.mp4")
    # A generator has no length: requests sends it chunked.
    response = requests.post(f"{api_process.url}/media", data=iter(body),
                             headers={"Content-Type": body.content_type}, timeout=60)
    assert response.status_code == 400, response.text
    assert response.json()["fields"]["file"].startswith("notes.mp4 is not a video")
    assert list((tmp_path / "media").iterdir()) == []


def test_an_upload_cut_off_midway_leaves_nothing_behind(api_process: ApiServer,
                                                        clips: dict[str, bytes],
                                                        tmp_path: Path) -> None:
    body = PaddedClip(clips["clip.mp4"], 50 << 20, "cut.mp4")
    head = (f"POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {body.content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    media = tmp_path / "media"
    with socket.create_connection(("127.0.0.1", api_process.port), timeout=10) as sock:
        sock.sendall(head)
        chunks = iter(body)
        for _ in range(5):
            sock.sendall(next(chunks))
        # The file is being written when the client goes away.
        wait_until(lambda: list(media.glob(".upload-*")), 10, "the upload's temporary file")
    wait_until(lambda: not list(media.iterdir()), 10, "the temporary file removed")
