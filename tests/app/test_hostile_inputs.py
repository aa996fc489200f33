"""Malformed, oversized, out-of-range and hostile input: a 4xx JSON naming the problem, and
nothing stored changes."""

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.store import StateStore
from tests.support.api_server import ApiServer

JSON = {"Content-Type": "application/json"}
GOOD = {"type": "color", "content": {"color": "#ff0000"}}


def _snapshot(store: StateStore) -> tuple:
    return (store.layers(), store.stream(), store.chat(100),
            store.redis.xlen(store.keys.events))


@pytest.mark.parametrize(("raw", "field"), [
    (b"{", "body"),
    (b'{"type": "color",}', "body"),
    (b"[1, 2]", "body"),
    (b'"just a string"', "body"),
    (b'{"type": "color", "opacity": NaN, "content": {"color": "#000000"}}', "body"),
    (b'{"type": "color", "opacity": Infinity, "content": {"color": "#000000"}}', "body"),
    (b'{"type": "color", "opacity": 1e999, "content": {"color": "#000000"}}', "body"),
    (b'{"type": "color", "type": "text", "content": {"color": "#000000"}}', "body"),
    (b'{"type": "color", "zIndex": ' + b"9" * 5000 + b', "content": {}}', "body"),
    (b"\xff\xfe{}", "body"),
    (b"[" * 100_000, "body"),
    (b"", "body"),
])
def test_malformed_json_is_400(client: FlaskClient, store: StateStore, raw: bytes,
                               field: str) -> None:
    before = _snapshot(store)
    response = client.post("/stream/layers", data=raw, headers=JSON)
    assert response.status_code in (400, 413), raw[:40]
    body = response.get_json()
    assert body["error"] in ("validation_error", "payload_too_large")
    assert field in body["fields"]
    assert _snapshot(store) == before


@pytest.mark.parametrize(("layer", "field"), [
    ({**GOOD, "extra": 1}, "extra"),
    ({**GOOD, "type": "hologram"}, "type"),
    ({"type": "color"}, "content"),
    ({**GOOD, "opacity": 1.5}, "opacity"),
    ({**GOOD, "opacity": -0.1}, "opacity"),
    ({**GOOD, "opacity": "1"}, "opacity"),
    ({**GOOD, "visible": 1}, "visible"),
    ({**GOOD, "zIndex": True}, "zIndex"),
    ({**GOOD, "zIndex": 1.5}, "zIndex"),
    ({**GOOD, "zIndex": 10**12}, "zIndex"),
    ({**GOOD, "transform": {"x": 10**9}}, "transform.x"),
    ({**GOOD, "transform": {"width": 0}}, "transform.width"),
    ({**GOOD, "transform": {"scale": 0}}, "transform.scale"),
    ({**GOOD, "transform": {"rotation": 1000}}, "transform.rotation"),
    ({**GOOD, "transform": {"skew": 3}}, "transform.skew"),
    ({**GOOD, "transform": "big"}, "transform"),
    ({**GOOD, "name": ""}, "name"),
    ({**GOOD, "name": "x" * 101}, "name"),
    ({**GOOD, "name": "a\u0000b"}, "name"),
    ({**GOOD, "name": "\ud800"}, "name"),
    ({"type": "color", "content": {"color": "red"}}, "content.color"),
    ({"type": "color", "content": {"color": "#ff0000", "glow": 1}}, "content.glow"),
    ({"type": "color", "content": []}, "content"),
    ({"type": "text", "content": {"text": "x" * 501}}, "content.text"),
    ({"type": "text", "content": {"text": "x", "fontSize": 100000}}, "content.fontSize"),
    ({"type": "chat", "content": {"maxMessages": 0}}, "content.maxMessages"),
    ({"type": "clock", "content": {"format": "%"}}, "content.format"),
    ({"type": "image", "content": {"source": "/etc/passwd.png"}}, "content.source"),
    ({"type": "image", "content": {"source": "../secret.png"}}, "content.source"),
    ({"type": "image", "content": {"source": "a/../../b.png"}}, "content.source"),
    ({"type": "image", "content": {"source": "logo.exe"}}, "content.source"),
    ({"type": "image", "content": {"source": "C:\\logo.png"}}, "content.source"),
    ({"type": "image", "content": {"source": "missing.png"}}, "content.source"),
])
def test_invalid_layers_are_400_naming_the_field(client: FlaskClient, store: StateStore,
                                                 layer: dict, field: str) -> None:
    before = _snapshot(store)
    response = client.post("/stream/layers", json=layer)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert field in body["fields"], body
    assert _snapshot(store) == before


def test_a_symlink_out_of_the_media_folder_is_refused(client: FlaskClient, store: StateStore,
                                                      settings, tmp_path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"not even a png")
    link = settings.media_root / "escape.png"
    link.symlink_to(outside)
    try:
        response = client.post("/stream/layers", json={
            "type": "image", "content": {"source": "escape.png"}})
        assert response.status_code == 400
        assert "outside" in response.get_json()["fields"]["content.source"]
    finally:
        link.unlink()
    assert store.layers() == []


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post("/stream/layers", data='{"type": "color"}',
                           headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    assert "Content-Type" in response.get_json()["fields"]


def test_oversized_body_is_413(client: FlaskClient, settings) -> None:
    huge = {**GOOD, "name": "x" * (settings.max_json_bytes + 10)}
    response = client.post("/stream/layers", json=huge)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_bad_if_match_is_400(client: FlaskClient, color_layer: dict) -> None:
    response = client.patch(f"/stream/layers/{color_layer['id']}", json={"name": "x"},
                            headers={"If-Match": "not-a-version"})
    assert response.status_code == 400 and "If-Match" in response.get_json()["fields"]


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/nowhere", 404),
    ("put", "/stream/layers", 405),
    ("delete", "/stream/status", 405),
    ("get", "/stream/chat?limit=-1", 400),
    ("get", "/stream/chat?limit=abc", 400),
    ("get", "/stream/chat?limit=100000", 400),
    ("get", "/stream/commands/%00", 404),
    ("get", "/stream/commands/" + "a" * 32, 404),
])
def test_bad_routes_and_queries_are_json(client: FlaskClient, method: str, url: str,
                                         status: int) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.is_json and "error" in response.get_json()


def test_chat_input_is_validated(client: FlaskClient, store: StateStore) -> None:
    for body, field in [({"author": "", "message": "hi"}, "author"),
                        ({"author": "a", "message": "x" * 501}, "message"),
                        ({"author": "a"}, "message"),
                        ({"author": 5, "message": "hi"}, "author")]:
        response = client.post("/stream/chat", json=body)
        assert response.status_code == 400 and field in response.get_json()["fields"]
    assert store.chat(100) == []


@pytest.mark.parametrize(("raw", "status", "field"), [
    (b'{"quality": "high"}', 400, "quality"),
    (b"[1]", 400, "body"),
    (b"{", 400, "body"),
])
def test_preview_ticket_takes_no_input(client: FlaskClient, raw: bytes, status: int,
                                       field: str) -> None:
    response = client.post("/preview/ticket", data=raw, headers=JSON)
    assert response.status_code == status
    assert field in response.get_json()["fields"]
    assert client.get("/preview/ticket").status_code == 405
    issued = client.post("/preview/ticket")
    assert issued.status_code == 201 and len(issued.get_json()["ticket"]) >= 32


# What the API process below takes in an upload; a JSON body takes MAX_JSON_BYTES (64 KiB).
UPLOAD_LIMIT = 1 << 20
MULTIPART = "multipart/form-data; boundary=x"
FILE_PART = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
             b"Content-Type: image/png\r\n\r\n")


@pytest.fixture(scope="module")
def api_process(base_env: dict[str, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """The API as supervisord runs it (gunicorn, threads), taking uploads of up to 1 MiB."""
    server = ApiServer({**base_env, "MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
                        "MAX_MEDIA_UPLOAD_BYTES": str(UPLOAD_LIMIT)},
                       Path(tmp_path_factory.mktemp("api"))).start()
    yield server
    server.stop()


def _answer_to_a_partial_body(server: ApiServer, path: str, headers: dict[str, str],
                              sent: bytes) -> tuple[int, dict, float]:
    """POST `headers` and `sent`, then wait for the answer without sending the rest:
    (status, JSON body, seconds from the last byte sent to the whole answer)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode() + sent)
        started = time.monotonic()
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        elapsed = time.monotonic() - started
    return response.status, json.loads(body) if body else {}, elapsed


@pytest.mark.parametrize(("path", "content_type"), [
    ("/stream/layers", "application/json"),
    ("/media", MULTIPART),
])
def test_a_too_large_content_length_is_refused_before_the_body_is_read(
        api_process: ApiServer, path: str, content_type: str) -> None:
    status, body, elapsed = _answer_to_a_partial_body(
        api_process, path, {"Content-Type": content_type, "Content-Length": "20000000"},
        b"x" * 1024)
    assert status == 413, body
    assert body["error"] == "payload_too_large" and "body" in body["fields"]
    assert elapsed < 1.0, f"the 413 took {elapsed:.2f} s"


@pytest.mark.parametrize(("path", "content_type", "sent"), [
    ("/stream/layers", "application/json", b'{"name": "' + b"x" * 70_000),
    ("/media", MULTIPART, FILE_PART + b"x" * (UPLOAD_LIMIT + 100_000)),
])
def test_a_chunked_body_is_read_only_up_to_the_limit(api_process: ApiServer, path: str,
                                                     content_type: str, sent: bytes) -> None:
    # One chunk past the limit, and never the final empty chunk: the answer cannot wait for it.
    chunk = f"{len(sent):x}\r\n".encode() + sent + b"\r\n"
    status, body, elapsed = _answer_to_a_partial_body(
        api_process, path, {"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        chunk)
    assert status == 413, body
    assert body["error"] == "payload_too_large" and "body" in body["fields"]
    assert elapsed < 1.0, f"the 413 took {elapsed:.2f} s"
