"""Layers through the API and a real worker: the contract, versions, ETags and If-Match."""

from flask.testing import FlaskClient

from core.store import StateStore


def test_create_fills_defaults_and_answers_201_with_location(client: FlaskClient) -> None:
    response = client.post("/stream/layers", json={"type": "text", "content": {"text": "hi"}})
    assert response.status_code == 201
    layer = response.get_json()
    assert layer["version"] == 1 and layer["visible"] is True and layer["opacity"] == 1.0
    assert layer["name"] == "text"
    assert layer["content"] == {"text": "hi", "fontSize": 32, "color": "#ffffff"}
    assert layer["transform"] == {"x": 0, "y": 0, "width": None, "height": None,
                                  "scale": 1.0, "rotation": 0.0}
    assert response.headers["Location"] == f"/stream/layers/{layer['id']}"
    assert response.headers["ETag"] == '"1"'
    assert client.get(response.headers["Location"]).get_json() == {**layer, "error": None}


def test_every_layer_type_can_be_created(client: FlaskClient) -> None:
    bodies = [
        {"type": "color", "content": {"color": "#00ff0080"}},
        {"type": "text", "content": {"text": "Lower third", "fontSize": 40, "color": "#FFFF00"}},
        {"type": "chat", "content": {"maxMessages": 3}},
        {"type": "clock", "content": {"format": "LIVE %H:%M:%S"}},
    ]
    for body in bodies:
        response = client.post("/stream/layers", json=body)
        assert response.status_code == 201, response.get_json()
    types = [layer["type"] for layer in client.get("/stream/layers").get_json()]
    assert types == ["color", "text", "chat", "clock"]


def test_new_layers_go_on_top_and_the_list_is_sorted_by_z_index(client: FlaskClient) -> None:
    low = client.post("/stream/layers", json={"type": "color", "zIndex": 5,
                                              "content": {"color": "#000000"}}).get_json()
    top = client.post("/stream/layers", json={"type": "color",
                                              "content": {"color": "#ffffff"}}).get_json()
    bottom = client.post("/stream/layers", json={"type": "color", "zIndex": -3,
                                                 "content": {"color": "#123456"}}).get_json()
    assert top["zIndex"] == 6
    listed = client.get("/stream/layers").get_json()
    assert [layer["id"] for layer in listed] == [bottom["id"], low["id"], top["id"]]


def test_patch_merges_and_bumps_the_version(client: FlaskClient, color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    response = client.patch(url, json={"opacity": 0.5, "transform": {"x": 300},
                                       "content": {"color": "#00ff00"}})
    assert response.status_code == 200
    layer = response.get_json()
    assert layer["version"] == 2 and response.headers["ETag"] == '"2"'
    assert layer["opacity"] == 0.5 and layer["content"] == {"color": "#00ff00"}
    assert layer["transform"]["x"] == 300 and layer["transform"]["y"] == 20
    assert layer["transform"]["width"] == 100
    assert client.get(url).get_json() == {**layer, "error": None}


def test_patch_can_reset_size_to_natural_with_null(client: FlaskClient, color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    layer = client.patch(url, json={"transform": {"width": None}}).get_json()
    assert layer["transform"]["width"] is None


def test_patch_content_is_checked_against_the_layer_type(client: FlaskClient,
                                                        color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    for patch, field in [({"content": {"text": "no"}}, "content.text"),
                         ({"content": {"color": "red"}}, "content.color"),
                         ({"type": "text"}, "type"),
                         ({}, "_schema")]:
        response = client.patch(url, json=patch)
        assert response.status_code == 400, patch
        assert field in response.get_json()["fields"], response.get_json()
    assert client.get(url).get_json() == {**color_layer, "error": None}


def test_if_match_makes_patch_and_delete_conditional(client: FlaskClient,
                                                     color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    ok = client.patch(url, json={"name": "a"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2

    stale = client.patch(url, json={"name": "b"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    body = stale.get_json()
    assert body["error"] == "version_conflict"
    assert body["current"]["version"] == 2 and body["current"]["name"] == "a"

    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.get(url).status_code == 200
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert client.get(url).status_code == 404


def test_visibility_toggle(client: FlaskClient, color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    hidden = client.post(f"{url}/visibility", json={"visible": False})
    assert hidden.status_code == 200
    assert hidden.get_json()["visible"] is False and hidden.get_json()["version"] == 2
    assert client.get(url).get_json()["visible"] is False
    shown = client.post(f"{url}/visibility", json={"visible": True}).get_json()
    assert shown["visible"] is True and shown["version"] == 3
    bad = client.post(f"{url}/visibility", json={"visible": "yes"})
    assert bad.status_code == 400 and "visible" in bad.get_json()["fields"]


def test_reorder_restacks_every_layer(client: FlaskClient) -> None:
    ids = [client.post("/stream/layers", json={"type": "color", "content": {
        "color": "#000000"}}).get_json()["id"] for _ in range(3)]
    wanted = [ids[2], ids[0], ids[1]]
    response = client.post("/stream/layers/reorder", json={"ids": wanted})
    assert response.status_code == 200
    assert [layer["id"] for layer in response.get_json()] == wanted
    listed = client.get("/stream/layers").get_json()
    assert [(layer["id"], layer["zIndex"]) for layer in listed] == [
        (layer_id, position) for position, layer_id in enumerate(wanted)]

    partial = client.post("/stream/layers/reorder", json={"ids": wanted[:2]})
    assert partial.status_code == 409 and "ids" in partial.get_json()["fields"]
    repeated = client.post("/stream/layers/reorder", json={"ids": [ids[0], ids[0], ids[1]]})
    assert repeated.status_code == 400 and "ids" in repeated.get_json()["fields"]


def test_max_layers_is_enforced(client: FlaskClient, store: StateStore) -> None:
    for _ in range(store.max_layers):
        assert client.post("/stream/layers", json={"type": "color", "content": {
            "color": "#000000"}}).status_code == 201
    response = client.post("/stream/layers", json={"type": "color",
                                                   "content": {"color": "#000000"}})
    assert response.status_code == 409
    assert response.get_json()["error"] == "limit_exceeded"
    assert len(client.get("/stream/layers").get_json()) == store.max_layers


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    for method, url, body in [("get", "/stream/layers/nope", None),
                              ("patch", "/stream/layers/nope", {"name": "x"}),
                              ("delete", "/stream/layers/nope", None),
                              ("post", "/stream/layers/nope/visibility", {"visible": True}),
                              ("get", "/stream/layers/..%2f..%2fetc", None)]:
        response = getattr(client, method)(url, json=body)
        assert response.status_code == 404, (method, url)
        assert response.get_json()["error"] == "not_found"


def test_every_change_appends_an_event(client: FlaskClient, store: StateStore,
                                       color_layer: dict) -> None:
    url = f"/stream/layers/{color_layer['id']}"
    client.patch(url, json={"name": "renamed"})
    client.post(f"{url}/visibility", json={"visible": False})
    client.delete(url)
    client.post("/stream/start")
    client.post("/stream/chat", json={"author": "ann", "message": "hello"})
    kinds = [fields["type"] for _, fields in store.redis.xrange(store.keys.events)]
    assert kinds == ["layer.created", "layer.updated", "layer.visibility", "layer.deleted",
                     "stream.state", "chat.posted"]


def test_layers_carry_the_render_workers_error_for_them(client: FlaskClient, store: StateStore,
                                                         color_layer: dict) -> None:
    store.live.write_telemetry({"layerErrors": {color_layer["id"]: "image 'x.png' not found"}})
    url = f"/stream/layers/{color_layer['id']}"
    assert client.get(url).get_json()["error"] == "image 'x.png' not found"
    assert client.get("/stream/layers").get_json()[0]["error"] == "image 'x.png' not found"
    assert client.get("/stream/status").get_json()["layerErrors"] == {
        color_layer["id"]: "image 'x.png' not found"}
