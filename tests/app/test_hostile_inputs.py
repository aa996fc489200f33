"""Malformed, oversized, out-of-range and hostile input: a 4xx JSON naming the problem, and
nothing stored changes."""

import pytest
from flask.testing import FlaskClient

from core.store import StateStore

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
    ({**GOOD, "type": "video"}, "type"),
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
