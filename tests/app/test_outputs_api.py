"""Outputs through the API and a real worker: the contract, versions, If-Match, the write-only
key, and bad input answered 400 naming the field with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from core.store import StateStore

KEY = "live_123456_SeCrEtKeY"
INGEST = "rtmp://ingest.example.com:1935/app"


def add(client: FlaskClient, **output: object) -> dict:
    response = client.post("/stream/outputs", json=output)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def everything_stored(store: StateStore) -> str:
    """Every value under the prefix but the keys hash and the broker, as one text."""
    texts = []
    for key in store.redis.scan_iter(f"{store.keys.prefix}*"):
        if key in (store.keys.output_keys,) or key.startswith(store.keys.celery):
            continue
        kind = store.redis.type(key)
        if kind == "hash":
            texts.append(json.dumps(store.redis.hgetall(key)))
        elif kind == "stream":
            texts.append(json.dumps(store.redis.xrange(key)))
        elif kind == "string":
            texts.append(store.redis.get(key) or "")
    return "\n".join(texts)


def test_an_rtmp_output_keeps_its_key_apart(client: FlaskClient, store: StateStore) -> None:
    created = client.post("/stream/outputs", json={"kind": "rtmp", "url": f"{INGEST}/{KEY}"})
    assert created.status_code == 201
    output = created.get_json()
    assert output["url"] == INGEST and output["hasKey"] is True and output["name"] == INGEST
    assert output["enabled"] is True and output["version"] == 1
    assert created.headers["Location"] == f"/stream/outputs/{output['id']}"
    assert created.headers["ETag"] == '"1"'
    read = client.get(f"/stream/outputs/{output['id']}").get_json()
    assert read["state"] == "stopped" and read["bitrate"] == 0 and "key" not in read
    assert [entry["id"] for entry in client.get("/stream/outputs").get_json()] == [output["id"]]
    status = client.get("/stream/status").get_json()
    assert status["outputs"][0]["id"] == output["id"]
    assert KEY not in json.dumps(client.get("/stream/outputs").get_json())
    assert KEY not in json.dumps(status) and KEY not in everything_stored(store)
    assert store.redis.hget(store.keys.output_keys, output["id"]) == KEY
    target = store.outputs.targets(Path("/recordings"))[0]
    assert target.address == f"{INGEST}/{KEY}" and KEY not in repr(target)


def test_patch_delete_and_if_match(client: FlaskClient, store: StateStore) -> None:
    output = add(client, kind="rtmp", url=INGEST, key=KEY, name="twitch")
    url = f"/stream/outputs/{output['id']}"
    assert client.patch(url, json={"enabled": False}, headers={"If-Match": '"9"'}
                        ).status_code == 412
    changed = client.patch(url, json={"enabled": False}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    assert client.get(url).get_json()["state"] == "disabled"
    rekeyed = client.patch(url, json={"key": "other_key_2"}).get_json()
    assert rekeyed["hasKey"] is True and "other_key_2" not in everything_stored(store)
    assert store.redis.hget(store.keys.output_keys, output["id"]) == "other_key_2"
    assert client.patch(url, json={"key": None}).get_json()["hasKey"] is False
    assert client.patch(url, json={"kind": "record"}).status_code == 400
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert not store.redis.hexists(store.keys.output_names, "twitch")


def test_a_recording_has_segment_defaults(client: FlaskClient) -> None:
    output = add(client, kind="record")
    assert output["name"] == "recording" and output["segmentSeconds"] == 3600
    assert output["keepSegments"] is None and output["url"] is None
    assert output["hasKey"] is False
    assert add(client, kind="record")["name"] == "recording#2"  # a free name by default
    url = f"/stream/outputs/{output['id']}"
    changed = client.patch(url, json={"segmentSeconds": 10, "keepSegments": 2}).get_json()
    assert (changed["segmentSeconds"], changed["keepSegments"]) == (10, 2)


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "rtmp", "url": "http://example.com/app"}, "url"),
    ({"kind": "rtmp", "url": "srt://example.com:9000"}, "url"),
    ({"kind": "rtmp"}, "url"),
    ({"kind": "rtmp", "url": INGEST, "key": "bad\x07key"}, "key"),
    ({"kind": "rtmp", "url": INGEST, "key": "two words"}, "key"),
    ({"kind": "rtmp", "url": f"{INGEST}/k1", "key": "k2"}, "key"),
    ({"kind": "rtmp", "url": "rtmp://user:pw@example.com/app"}, "url"),
    ({"kind": "record", "segmentSeconds": 9}, "segmentSeconds"),
    ({"kind": "record", "segmentSeconds": 86_401}, "segmentSeconds"),
    ({"kind": "record", "keepSegments": 0}, "keepSegments"),
    ({"kind": "record", "url": INGEST}, "url"),
    ({"kind": "ftp"}, "kind"),
    ({"kind": "rtmp", "url": INGEST, "extra": 1}, "extra"),
])
def test_bad_outputs_are_400_naming_the_field(client: FlaskClient, store: StateStore,
                                              body: dict, field: str) -> None:
    response = client.post("/stream/outputs", json=body)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["fields"], response.get_json()
    assert store.outputs.all() == []


def test_names_are_unique_and_at_most_16_outputs(client: FlaskClient,
                                                 store: StateStore) -> None:
    add(client, kind="record", name="archive")
    duplicate = client.post("/stream/outputs", json={"kind": "record", "name": "archive"})
    assert duplicate.status_code == 400 and "name" in duplicate.get_json()["fields"]
    for number in range(15):
        add(client, kind="rtmp", url=f"{INGEST}{number}", key=KEY)
    over = client.post("/stream/outputs", json={"kind": "record", "name": "seventeenth"})
    assert over.status_code == 400 and "outputs" in over.get_json()["fields"]
    assert len(store.outputs.all()) == 16


def test_the_environment_seeds_outputs_once(store: StateStore,
                                            redis_client: redis.Redis) -> None:
    store.outputs.seed([f"{INGEST}/{KEY}"], record=True)
    seeded = store.outputs.all()
    assert sorted((output.kind, output.name, output.has_key) for output in seeded) == [
        ("record", "recording", False), ("rtmp", INGEST, True)]
    store.outputs.delete("c-delete", seeded[0].id)
    store.outputs.seed([f"{INGEST}/{KEY}"], record=True)
    assert len(store.outputs.all()) == 1  # seeding happens once, not whenever a few are left


def test_a_bad_rtmp_url_is_skipped_when_seeding(store: StateStore,
                                                caplog: pytest.LogCaptureFixture) -> None:
    store.outputs.seed([f"rtmp://user:{KEY}@example.com/app", f"{INGEST}/{KEY}"], record=False)
    assert [output.name for output in store.outputs.all()] == [INGEST]
    assert "entry 1 is not a usable output" in caplog.text and KEY not in caplog.text
