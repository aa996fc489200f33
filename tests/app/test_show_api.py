"""Show control through the API and a real worker: atomic batches, undo and redo, the history,
scenes and their takes, and transitions on layer changes."""

from __future__ import annotations

from typing import Any

import redis
from flask.testing import FlaskClient

from core.config import Settings
from core.store import StateStore
from tests.support.clips import write_clip

# What an undo restores exactly; version and updatedAt move on with every change.
SERVER_FIELDS = ("version", "updatedAt")


def box(name: str, color: str, x: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "color", "content": {"color": color},
            "transform": {"x": x, "y": 0, "width": 50, "height": 50}, **extra}


def add(client: FlaskClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/stream/layers", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client: FlaskClient, layer_id: str) -> dict[str, Any]:
    response = client.get(f"/stream/layers/{layer_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def without(layer: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in layer.items() if key not in names}


# ---- batches -----------------------------------------------------------------------------

def test_a_batch_applies_every_operation_in_one_event(client: FlaskClient,
                                                       store: StateStore) -> None:
    a, b = add(client, box("a", "#ff0000")), add(client, box("b", "#0000ff"))
    events_before = store.redis.xlen(store.keys.events)
    response = client.post("/stream/batch", json={"operations": [
        {"op": "update", "id": a["id"], "changes": {"content": {"color": "#00ff00"}},
         "ifMatch": a["version"]},
        {"op": "update", "id": b["id"], "changes": {"content": {"color": "#ffff00"}}},
        {"op": "create", "layer": {**box("c", "#ffffff"), "id": "logo"}},
        {"op": "update", "id": "logo", "changes": {"opacity": 0.5}},
        {"op": "reorder", "ids": ["logo", b["id"], a["id"]]},
    ], "transition": {"durationMs": 400, "easing": "easeOut"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [layer["id"] for layer in body["layers"]] == ["logo", b["id"], a["id"]]
    assert body["results"][2]["id"] == "logo" and body["results"][3]["opacity"] == 0.5
    # Each changed layer moved on by one version, however many operations touched it.
    assert read(client, a["id"])["version"] == a["version"] + 1
    assert read(client, "logo")["version"] == 1
    assert store.redis.xlen(store.keys.events) == events_before + 1
    _, fields = store.redis.xrevrange(store.keys.events, count=1)[0]
    assert fields["type"] == "layers.batch" and int(fields["seq"]) == body["seq"]


def test_a_batch_with_one_bad_operation_changes_nothing_and_names_it(
        client: FlaskClient, store: StateStore) -> None:
    a = add(client, box("a", "#ff0000"))
    before = client.get("/stream/layers").get_json()
    events_before = store.redis.xlen(store.keys.events)
    cases = [
        ({"op": "update", "id": a["id"], "changes": {"opacity": 7}}, 400,
         "operations.1.changes.opacity"),
        ({"op": "update", "id": a["id"], "changes": {"content": {"color": "red"}}}, 400,
         "operations.1.changes.content.color"),
        ({"op": "delete", "id": "nosuchlayer"}, 404, "operations.1.id"),
        ({"op": "update", "id": a["id"], "changes": {"name": "x"}, "ifMatch": 99}, 412,
         "operations.1.ifMatch"),
        ({"op": "create", "layer": {**box("dup", "#000000"), "id": a["id"]}}, 409,
         "operations.1.id"),
        ({"op": "teleport"}, 400, "operations.1.op"),
        ({"op": "reorder", "ids": [a["id"], "ghost"]}, 409, "operations.1.ids"),
        ({"op": "create", "layer": {"type": "image", "content": {"source": "none.png"}}}, 400,
         "operations.1.layer.content.source"),
    ]
    for bad, status, field in cases:
        response = client.post("/stream/batch", json={"operations": [
            {"op": "update", "id": a["id"], "changes": {"content": {"color": "#00ff00"}}},
            bad]})
        assert response.status_code == status, (bad, response.get_json())
        assert field in response.get_json()["fields"], (bad, response.get_json())
    assert client.get("/stream/layers").get_json() == before
    assert store.redis.xlen(store.keys.events) == events_before


def test_batch_bodies_are_checked(client: FlaskClient) -> None:
    for body, field in [({}, "operations"), ({"operations": []}, "operations"),
                        ({"operations": [{"op": "delete", "id": "a"}] * 101}, "operations"),
                        ({"operations": "x"}, "operations"),
                        ({"operations": [{"op": "delete", "id": "a"}],
                          "transition": {"durationMs": -1}}, "transition.durationMs"),
                        ({"operations": [{"op": "delete", "id": "a"}],
                          "transition": {"durationMs": 10, "easing": "bounce"}},
                         "transition.easing"),
                        ({"operations": [{"op": "delete", "id": "a b"}]}, "operations.0.id"),
                        ({"operations": [1]}, "operations.0"),
                        ({"operations": [{"op": "delete", "id": "a"}], "extra": 1}, "extra")]:
        response = client.post("/stream/batch", json=body)
        assert response.status_code == 400, body
        assert field in response.get_json()["fields"], (body, response.get_json())


def test_transitions_on_layer_changes_are_checked_and_carried(client: FlaskClient,
                                                               store: StateStore) -> None:
    a = add(client, {**box("a", "#ff0000"), "transition": {"durationMs": 300}})
    response = client.patch(f"/stream/layers/{a['id']}", json={
        "transform": {"x": 600}, "transition": {"durationMs": 1000, "easing": "easeInOut"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["transform"]["x"] == 600  # the store holds the new value
    _, fields = store.redis.xrevrange(store.keys.events, count=1)[0]
    assert '"transition":{"durationMs":1000,"easing":"easeInOut"}' in fields["data"]
    bad = client.patch(f"/stream/layers/{a['id']}", json={
        "opacity": 2, "transition": {"durationMs": 70_000}})
    assert bad.status_code == 400
    assert set(bad.get_json()["fields"]) == {"opacity", "transition.durationMs"}
    hidden = client.post(f"/stream/layers/{a['id']}/visibility",
                         json={"visible": False, "transition": {"durationMs": 200}})
    assert hidden.status_code == 200 and hidden.get_json()["visible"] is False
    gone = client.delete(f"/stream/layers/{a['id']}", json={"transition": {"durationMs": 200}})
    assert gone.status_code == 204
    _, fields = store.redis.xrevrange(store.keys.events, count=1)[0]
    assert fields["type"] == "layer.deleted" and '"durationMs":200' in fields["data"]


# ---- undo, redo and the history ----------------------------------------------------------------

def test_undo_restores_a_patched_layer_exactly_and_redo_reapplies_it(
        client: FlaskClient) -> None:
    layer = add(client, box("a", "#ff0000", x=10))
    patched = client.patch(f"/stream/layers/{layer['id']}", json={
        "name": "moved", "opacity": 0.25, "transform": {"x": 300, "rotation": 45},
        "content": {"color": "#123456"}}).get_json()
    undone = client.post("/stream/undo")
    assert undone.status_code == 200, undone.get_json()
    restored = read(client, layer["id"])
    assert without(restored, *SERVER_FIELDS, "error") == without(layer, *SERVER_FIELDS)
    assert restored["version"] == patched["version"] + 1
    assert undone.get_json()["undid"] == undone.get_json()["seq"] - 1
    redone = client.post("/stream/redo")
    assert redone.status_code == 200
    again = read(client, layer["id"])
    assert without(again, *SERVER_FIELDS, "error") == without(patched, *SERVER_FIELDS)
    assert again["version"] == restored["version"] + 1
    # Undo of the creation removes the layer; redo brings it back whole.
    assert client.post("/stream/undo").status_code == 200
    assert client.post("/stream/undo").status_code == 200
    assert client.get(f"/stream/layers/{layer['id']}").status_code == 404
    assert client.post("/stream/redo").status_code == 200
    back = read(client, layer["id"])
    assert without(back, *SERVER_FIELDS, "error") == without(layer, *SERVER_FIELDS)


def test_a_new_change_clears_redo_and_an_empty_stack_is_a_409(client: FlaskClient) -> None:
    nothing = client.post("/stream/undo")
    assert nothing.status_code == 409 and "undo" in nothing.get_json()["fields"]
    layer = add(client, box("a", "#ff0000"))
    client.patch(f"/stream/layers/{layer['id']}", json={"opacity": 0.5})
    assert client.post("/stream/undo").status_code == 200
    client.patch(f"/stream/layers/{layer['id']}", json={"name": "other"})
    redo = client.post("/stream/redo")
    assert redo.status_code == 409 and "redo" in redo.get_json()["fields"]


def test_150_changes_then_100_undos(settings: Settings, client: FlaskClient,
                                    redis_client: redis.Redis) -> None:
    layer = add(client, box("a", "#000000"))
    for x in range(1, 151):
        response = client.patch(f"/stream/layers/{layer['id']}", json={"transform": {"x": x}})
        assert response.status_code == 200
    version = read(client, layer["id"])["version"]
    for _ in range(100):
        assert client.post("/stream/undo").status_code == 200
    restored = read(client, layer["id"])
    assert restored["transform"]["x"] == 50
    assert restored["version"] == version + 100
    # Every undo was a change other clients saw as a plain layer update.
    history = client.get("/stream/history?limit=100").get_json()["entries"]
    assert [entry["source"] for entry in history] == ["undo"] * 100
    assert all(entry["op"] == "undo" for entry in history)


def test_the_history_records_who_what_and_pages_back(client: FlaskClient) -> None:
    layer = add(client, box("a", "#ff0000"))
    client.patch(f"/stream/layers/{layer['id']}", json={"opacity": 0.5})
    client.post("/stream/start")
    client.post("/stream/stop")
    client.post("/stream/undo")
    page = client.get("/stream/history?limit=3").get_json()
    assert [entry["op"] for entry in page["entries"]] == ["undo", "stream.stop", "stream.start"]
    undo, stop, _ = page["entries"]
    assert undo["source"] == "undo" and undo["role"] == "operator"
    assert undo["after"][0]["opacity"] == 1.0 and undo["before"][0]["opacity"] == 0.5
    assert stop["undoable"] is False and stop["after"] == [{"state": "stopped"}]
    older = client.get(f"/stream/history?limit=3&before={page['next']}").get_json()
    ops = [entry["op"] for entry in older["entries"]]
    assert ops == ["layer.update", "layer.create"] and older["next"] is None
    assert older["entries"][0]["undone"] is True
    assert client.get("/stream/history?limit=0").status_code == 400
    assert client.get("/stream/history?before=x").status_code == 400


def test_input_urls_never_show_in_the_history_but_undo_keeps_them(
        client: FlaskClient, store: StateStore) -> None:
    url = "rtmp://ingest.example.com/live/secretkey123"
    layer = add(client, {"type": "input", "content": {"url": url}})
    assert client.delete(f"/stream/layers/{layer['id']}").status_code == 204
    history = client.get("/stream/history").get_json()
    assert "secretkey123" not in str(history)
    assert client.post("/stream/undo").status_code == 200
    assert store.layer(layer["id"]).content.url == url  # type: ignore[attr-defined]


# ---- scenes ----------------------------------------------------------------------------------

def test_scenes_save_list_rename_delete_and_refuse_bad_input(client: FlaskClient) -> None:
    add(client, box("a", "#ff0000"))
    saved = client.post("/stream/scenes", json={"name": "Opening"})
    assert saved.status_code == 201, saved.get_json()
    scene = saved.get_json()
    assert [layer["name"] for layer in scene["layers"]] == ["a"]
    assert saved.headers["Location"] == f"/stream/scenes/{scene['id']}"
    defined = client.post("/stream/scenes", json={"name": "Break", "layers": [
        box("slate", "#0000ff"), {**box("logo", "#ffffff"), "id": "logo"}]})
    assert defined.status_code == 201, defined.get_json()
    assert client.get("/stream/layers").get_json()[0]["name"] == "a"  # not taken on air
    assert client.post("/stream/scenes", json={"name": "Break"}).status_code == 409
    for body, field in [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "layers": 3},
                                                                 "layers"),
                        ({"name": "x", "layers": [{"type": "nope"}]}, "layers.0.type"),
                        ({"name": "x", "layers": [box("a", "#zz0000")]},
                         "layers.0.content.color"),
                        ({"name": "x", "colour": 1}, "colour")]:
        response = client.post("/stream/scenes", json=body)
        assert response.status_code == 400, body
        assert field in response.get_json()["fields"], (body, response.get_json())
    renamed = client.patch(f"/stream/scenes/{scene['id']}", json={"name": "Intro"})
    assert renamed.status_code == 200 and renamed.get_json()["version"] == 2
    assert [s["name"] for s in client.get("/stream/scenes").get_json()] == ["Break", "Intro"]
    assert client.delete(f"/stream/scenes/{scene['id']}").status_code == 204
    assert client.get(f"/stream/scenes/{scene['id']}").status_code == 404
    assert client.post("/stream/scenes/nosuch/take").status_code == 404


def test_a_take_keeps_shared_layers_and_their_playback_and_is_undoable(
        client: FlaskClient, store: StateStore, settings: Settings) -> None:
    write_clip(settings.media_root / "clip.mp4", fps=25, seconds=1)
    video = add(client, {"name": "clip", "type": "video", "content": {"source": "clip.mp4"}})
    playing = store.layer(video["id"]).playback
    add(client, box("only-in-a", "#ff0000"))
    scene_a = client.post("/stream/scenes", json={"name": "A"}).get_json()
    scene_b = client.post("/stream/scenes", json={"name": "B", "layers": [
        {"name": "clip again", "type": "video", "content": {"source": "clip.mp4"},
         "transform": {"x": 100}},
        box("only-in-b", "#00ff00")]}).get_json()
    taken = client.post(f"/stream/scenes/{scene_b['id']}/take",
                        json={"transition": {"type": "fade", "durationMs": 1000}})
    assert taken.status_code == 200, taken.get_json()
    layers = client.get("/stream/layers").get_json()
    assert [layer["name"] for layer in layers] == ["clip again", "only-in-b"]
    # The video on air lent its id to the scene's layer of the same file: it keeps playing.
    kept = next(layer for layer in layers if layer["type"] == "video")
    assert kept["id"] == video["id"]
    assert store.layer(kept["id"]).playback == playing
    _, fields = store.redis.xrevrange(store.keys.events, count=1)[0]
    assert fields["type"] == "layers.batch"
    assert '"take":{"sceneId":"' + scene_b["id"] in fields["data"]
    assert '"type":"fade","durationMs":1000' in fields["data"]
    assert client.post("/stream/undo").status_code == 200
    names = [layer["name"] for layer in client.get("/stream/layers").get_json()]
    assert names == ["clip", "only-in-a"]
    bad = client.post(f"/stream/scenes/{scene_a['id']}/take",
                      json={"transition": {"type": "spin"}})
    assert bad.status_code == 400 and "transition.type" in bad.get_json()["fields"]


def test_outputs_and_audio_changes_are_in_the_history_without_keys(
        client: FlaskClient) -> None:
    created = client.post("/stream/outputs", json={
        "kind": "rtmp", "url": "rtmp://ingest.example.com/live", "key": "supersecretkey"})
    assert created.status_code == 201, created.get_json()
    assert client.patch("/stream/audio", json={"master": {"volume": 0.5}}).status_code == 200
    entries = client.get("/stream/history?limit=2").get_json()["entries"]
    assert [entry["op"] for entry in entries] == ["audio.update", "output.create"]
    assert entries[0]["after"][0]["master"]["volume"] == 0.5
    assert entries[1]["after"][0]["hasKey"] is True and entries[1]["undoable"] is False
    assert "supersecretkey" not in str(client.get("/stream/history").get_json())


HOSTILE = [
    ("post", "/stream/batch", {"operations": [{"op": "create", "layer": []}]},
     "operations.0.layer"),
    ("post", "/stream/batch", {"operations": [{"op": "update", "id": "x" * 65, "changes": {}}]},
     "operations.0.id"),
    ("post", "/stream/batch", {"operations": [{"op": "update", "id": "a", "changes": {}}]},
     "operations.0.changes"),
    ("post", "/stream/batch", {"operations": [{"op": "delete", "id": "a", "ifMatch": True}]},
     "operations.0.ifMatch"),
    ("post", "/stream/batch", {"operations": [{"op": "reorder", "ids": ["a", "a"]}]},
     "operations.0.ids"),
    ("post", "/stream/batch", {"operations": [{"op": None}]}, "operations.0.op"),
    ("post", "/stream/undo", {"steps": 2}, "steps"),
    ("post", "/stream/redo", [], "body"),
    ("post", "/stream/scenes", {"name": "x" * 101}, "name"),
    ("post", "/stream/scenes", {"name": "ok", "layers": [{"type": "color", "id": "../x",
                                                          "content": {"color": "#000000"}}]},
     "layers.0.id"),
    ("post", "/stream/scenes", {"name": "ok", "layers": [{"type": "color", "id": "same",
                                                          "content": {"color": "#000000"}}] * 2},
     "layers"),
    ("patch", "/stream/scenes/nosuch", {}, "_schema"),
    ("post", "/stream/scenes/nosuch/take", {"transition": {"type": "fade", "durationMs": 1e9}},
     "transition.durationMs"),
    ("post", "/stream/scenes/nosuch/take", {"transition": "fade"}, "transition"),
    ("get", "/stream/history?limit=201", None, "limit"),
    ("get", "/stream/history?before=-3", None, "before"),
]


def test_hostile_show_control_input_is_a_4xx_naming_the_field(client: FlaskClient) -> None:
    for method, url, body, field in HOSTILE:
        response = getattr(client, method)(url, json=body)
        assert 400 <= response.status_code < 500, (url, body, response.status_code)
        fields = response.get_json().get("fields", {})
        assert field in fields, (url, body, response.get_json())
