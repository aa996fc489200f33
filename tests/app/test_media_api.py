"""The media library: uploads are checked as images, capped, and named safely."""

import io
import random
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app import create_app
from core.config import Settings


def image_bytes(kind: str, size: tuple[int, int] = (8, 6), color=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def empty_media(settings: Settings) -> Iterator[None]:
    for path in settings.media_root.iterdir():
        path.unlink()
    yield


def upload(client: FlaskClient, data: bytes, filename: str, **form: str):
    return client.post("/media", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


@pytest.mark.parametrize(("kind", "name"), [("PNG", "logo.png"), ("JPEG", "photo.jpg"),
                                            ("WEBP", "still.webp")])
def test_upload_each_format_then_list_and_use_it(client: FlaskClient, kind: str,
                                                 name: str) -> None:
    response = upload(client, image_bytes(kind), name)
    assert response.status_code == 201, response.get_json()
    described = response.get_json()
    assert described["name"] == name and described["format"] == kind
    assert (described["width"], described["height"]) == (8, 6)
    assert [item["name"] for item in client.get("/media").get_json()] == [name]
    with client.get(f"/media/{name}") as served:
        assert served.data == image_bytes(kind)
    layer = client.post("/stream/layers", json={"type": "image", "content": {"source": name}})
    assert layer.status_code == 201


def test_upload_needs_multipart_and_a_file(client: FlaskClient) -> None:
    assert client.post("/media", json={"file": "x"}).status_code == 415
    response = client.post("/media", data={"name": "a.png"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "file" in response.get_json()["fields"]


@pytest.mark.parametrize(("data", "name", "field"), [
    (b"\x89PNG\r\n\x1a\nthis is not really a png", "fake.png", "file"),
    (b"GIF89a" + b"\0" * 20, "anim.png", "file"),
    (b"", "empty.png", "file"),
    (image_bytes("PNG"), "logo.jpg", "file"),
    (image_bytes("PNG"), "../escape.png", "name"),
    (image_bytes("PNG"), ".hidden.png", "name"),
    (image_bytes("PNG"), "script.svg", "name"),
    (image_bytes("PNG"), "sub/dir.png", "name"),
])
def test_bad_uploads_are_refused(client: FlaskClient, settings: Settings, data: bytes,
                                 name: str, field: str) -> None:
    response = upload(client, data, name)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["fields"]
    assert list(settings.media_root.iterdir()) == []


def test_too_many_pixels_is_413(client: FlaskClient, settings: Settings) -> None:
    side = int(settings.max_image_pixels ** 0.5) + 1
    response = upload(client, image_bytes("PNG", (side, side)), "huge.png")
    assert response.status_code == 413
    assert "file" in response.get_json()["fields"]
    assert list(settings.media_root.iterdir()) == []


@pytest.fixture
def small_upload_app(settings: Settings, redis_client) -> Iterator[Flask]:
    from dataclasses import replace

    app = create_app(replace(settings, max_upload_bytes=2048))
    yield app
    app.extensions["stream_manager"].close()


def test_too_many_bytes_is_413(small_upload_app: Flask, settings: Settings) -> None:
    noisy = Image.frombytes("L", (200, 200), random.Random(0).randbytes(200 * 200))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    response = upload(small_upload_app.test_client(), buffer.getvalue(), "noisy.png")
    assert response.status_code == 413
    assert list(settings.media_root.iterdir()) == []


def test_existing_names_need_overwrite(client: FlaskClient) -> None:
    assert upload(client, image_bytes("PNG", color=(0, 0, 255)), "a.png").status_code == 201
    again = upload(client, image_bytes("PNG", (4, 4)), "a.png")
    assert again.status_code == 409 and "name" in again.get_json()["fields"]
    replaced = upload(client, image_bytes("PNG", (4, 4)), "a.png", overwrite="true")
    assert replaced.status_code == 201 and replaced.get_json()["width"] == 4


def test_an_explicit_name_wins_over_the_file_name(client: FlaskClient) -> None:
    response = upload(client, image_bytes("PNG"), "IMG_0001.png", name="brand.png")
    assert response.status_code == 201 and response.get_json()["name"] == "brand.png"


def test_media_paths_cannot_escape(client: FlaskClient) -> None:
    for url in ("/media/../pyproject.toml", "/media/%2e%2e/pyproject.toml", "/media/nope.png"):
        response = client.get(url)
        assert response.status_code == 404 and response.is_json


def test_a_body_over_max_content_length_is_413_json(small_upload_app: Flask) -> None:
    response = upload(small_upload_app.test_client(), b"\0" * 200_000, "big.png")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_an_upload_over_a_symlink_out_of_the_library_is_refused(
        client: FlaskClient, settings: Settings, tmp_path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"")
    link = settings.media_root / "escape.png"
    link.symlink_to(outside)
    try:
        response = upload(client, image_bytes("PNG"), "escape.png", overwrite="true")
        assert response.status_code == 400
        assert "name" in response.get_json()["fields"]
        assert outside.read_bytes() == b""
    finally:
        link.unlink()
