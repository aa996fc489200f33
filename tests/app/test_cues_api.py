"""Cues through the API, a real worker and a real beat: validation naming the field, listing
order, cancel, the cap, runs recorded (done, failed, missed by graceMs), cron times computed in
the cue's time zone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from core.cues import STREAM_CUES, CueAction, NewCue
from core.store import STREAM_ACTIONS, StateStore, now_ms
from tests.support.beat import wait_for_beat_lease
from tests.support.processes import Process, wait_until

START = {"kind": "start"}



def add(client: FlaskClient, **cue: Any) -> dict[str, Any]:
    response = client.post("/stream/cues", json={"name": "cue", **cue})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def settled(client: FlaskClient, cue_id: str, timeout: float = 15) -> dict[str, Any]:
    """The cue once it has run (lastRun set)."""
    return wait_until(lambda: (found := client.get(f"/stream/cues/{cue_id}").get_json())
                      ["lastRun"] and found, timeout, f"cue {cue_id} to run")


def test_stream_cues_are_the_stream_actions() -> None:
    assert STREAM_CUES == STREAM_ACTIONS


@pytest.mark.parametrize(("cue", "fields"), [
    ({"action": START}, {"at", "inMs", "cron"}),
    ({"at": 1, "inMs": 5, "action": START}, {"at", "inMs"}),
    ({"inMs": 5, "cron": "* * * * *", "action": START}, {"inMs", "cron"}),
    ({"at": 1000, "action": START}, {"at"}),
    ({"at": "soon", "action": START}, {"at"}),
    ({"inMs": -1, "action": START}, {"inMs"}),
    ({"inMs": 1.5, "action": START}, {"inMs"}),
    ({"cron": "61 * * * *", "action": START}, {"cron"}),
    ({"cron": "0 0 30 2 *", "action": START}, {"cron"}),
    ({"cron": "* * * * * *", "action": START}, {"cron"}),
    ({"cron": "x" * 5000, "action": START}, {"cron"}),
    ({"cron": "* * * * *", "timezone": "Mars/Olympus", "action": START}, {"timezone"}),
    ({"cron": "* * * * *", "timezone": "../../../etc/passwd", "action": START}, {"timezone"}),
    ({"inMs": 0, "graceMs": 3_600_001, "action": START}, {"graceMs"}),
    ({"inMs": 0, "graceMs": -1, "action": START}, {"graceMs"}),
    ({"inMs": 0}, {"action"}),
    ({"inMs": 0, "action": "start"}, {"action"}),
    ({"inMs": 0, "action": {"kind": "explode"}}, {"action.kind"}),
    ({"inMs": 0, "action": {"kind": "stop", "sceneId": "a"}}, {"action.sceneId"}),
    ({"inMs": 0, "action": {"kind": "batch"}}, {"action.operations"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": []}}, {"action.operations"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [{"op": "x"}] * 101}},
     {"action.operations"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [{"op": "delete", "id": "a"}, 7]}},
     {"action.operations.1"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [{"op": "fly"}]}},
     {"action.operations.0.op"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [
        {"op": "update", "id": "a", "changes": {"opacity": 2}}]}},
     {"action.operations.0.changes.opacity"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [{"op": "delete", "id": "a"}],
                            "transition": {"durationMs": 60_001}}},
     {"action.transition.durationMs"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [{"op": "delete", "id": "a"}],
                            "transition": {"durationMs": 100, "easing": "bounce"}}},
     {"action.transition.easing"}),
    ({"inMs": 0, "action": {"kind": "batch", "operations": [
        {"op": "create", "layer": {"type": "image", "content": {"source": "gone.png"}}}]}},
     {"action.operations.0.layer.content.source"}),
    ({"inMs": 0, "action": {"kind": "take"}}, {"action.sceneId"}),
    ({"inMs": 0, "action": {"kind": "take", "sceneId": "nope"}}, {"action.sceneId"}),
    ({"inMs": 0, "action": {"kind": "take", "sceneId": "s",
                            "transition": {"type": "dissolve"}}}, {"action.transition.type"}),
    ({"inMs": 0, "action": START, "name": ""}, {"name"}),
    ({"inMs": 0, "action": START, "name": "a\u0000b"}, {"name"}),
    ({"inMs": 0, "action": START, "colour": "red"}, {"colour"}),
])
def test_bad_cues_are_400_naming_the_field(client: FlaskClient, store: StateStore,
                                           cue: dict[str, Any], fields: set[str]) -> None:
    response = client.post("/stream/cues", json={"name": "bad", **cue})
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_error" and set(body["fields"]) == fields, body
    assert store.redis.hlen(store.keys.cues) == 0


def test_malformed_bodies_are_400(client: FlaskClient) -> None:
    for raw in (b"{", b"[]", b'{"name": "a", "name": "b"}', b"\xff"):
        response = client.post("/stream/cues", data=raw,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "body" in response.get_json()["fields"]
    assert client.get("/stream/cues/..%2f").status_code == 404
    assert client.delete("/stream/cues/unknown").status_code == 404


def test_create_read_list_and_cancel(client: FlaskClient, store: StateStore) -> None:
    later = now_ms() + 3_600_000
    at = add(client, name="late", at=later, graceMs=0, action=START)
    created = client.post("/stream/cues", json={"name": "soon", "inMs": 600_000,
                                                "action": {"kind": "stop"}})
    assert created.status_code == 201
    soon = created.get_json()
    assert created.headers["Location"] == f"/stream/cues/{soon['id']}"
    assert soon["at"] == soon["nextAt"] and abs(soon["at"] - (now_ms() + 600_000)) < 5_000
    assert soon["cron"] is None and soon["timezone"] == "UTC" and soon["graceMs"] == 5000
    assert soon["state"] == "scheduled" and soon["runs"] == 0 and soon["lastRun"] is None
    assert soon["action"] == {"kind": "stop"}
    assert at["at"] == later and at["graceMs"] == 0
    # Two past cues, the newer listed first, after the scheduled ones by time.
    older = add(client, name="older", inMs=1_000_000, action=START)
    newer = add(client, name="newer", inMs=2_000_000, action=START)
    for past in (older, newer):
        store.cues.record_run(past["id"], past["nextAt"], "failed", 409, error="stopped")
    listed = client.get("/stream/cues").get_json()
    assert [cue["name"] for cue in listed] == ["soon", "late", "newer", "older"]
    assert listed[2]["state"] == "failed" and listed[2]["nextAt"] is None
    assert listed[2]["lastRun"]["status"] == 409 and listed[2]["lastRun"]["error"] == "stopped"
    assert client.get(f"/stream/cues/{soon['id']}").get_json() == soon

    assert client.delete(f"/stream/cues/{soon['id']}").status_code == 204
    assert client.get(f"/stream/cues/{soon['id']}").status_code == 404
    assert client.delete(f"/stream/cues/{soon['id']}").status_code == 404
    assert not store.redis.hexists(store.keys.cue_schedule, soon["id"])
    assert [cue.id for cue in store.cues.due(later)] == [at["id"]]
    types = [fields["type"] for _, fields in store.redis.xrange(store.keys.events)]
    assert types.count("cue.saved") == 6 and types.count("cue.deleted") == 1


def test_a_take_names_a_scene_that_exists(client: FlaskClient) -> None:
    scene = client.post("/stream/scenes", json={"name": "opening"}).get_json()
    cue = add(client, inMs=60_000, action={"kind": "take", "sceneId": scene["id"],
                                           "transition": {"type": "fade", "durationMs": 800}})
    assert cue["action"] == {"kind": "take", "sceneId": scene["id"],
                             "transition": {"type": "fade", "durationMs": 800}}


def test_an_input_url_in_a_cue_is_masked_in_reads(client: FlaskClient,
                                                  store: StateStore) -> None:
    url = "rtmp://ingest.example.com/live/SeCrEt-KeY"
    cue = add(client, inMs=600_000, action={"kind": "batch", "operations": [
        {"op": "create", "layer": {"type": "input", "content": {"url": url}}},
        {"op": "update", "id": "cam", "changes": {"content": {"url": url}}}]})
    shown = json.dumps(client.get("/stream/cues").get_json()) + json.dumps(cue)
    assert "SeCrEt" not in shown and "rtmp://ingest.example.com/live/***" in shown
    assert "SeCrEt" in store.redis.hget(store.keys.cues, cue["id"])


def test_at_most_max_cues(client: FlaskClient, store: StateStore) -> None:
    new = NewCue(name="filler", action=CueAction("start"), at=now_ms() + 3_600_000)
    for number in range(store.cues.max_cues - 1):
        assert store.cues.create(f"fill-{number}", new).status == 201
    add(client, inMs=60_000, action=START)
    refused = client.post("/stream/cues", json={"name": "one more", "inMs": 1,
                                                "action": START})
    assert refused.status_code == 409 and "cues" in refused.get_json()["fields"]
    assert store.redis.hlen(store.keys.cues) == store.cues.max_cues


def test_cron_times_follow_the_time_zone(client: FlaskClient, store: StateStore) -> None:
    paris = ZoneInfo("Europe/Paris")
    cue = add(client, cron="30 9 * * *", timezone="Europe/Paris", graceMs=0, action=START)
    now = datetime.now(paris)
    expected = now.replace(hour=9, minute=30, second=0, microsecond=0)
    if expected <= now:
        expected = (now + timedelta(days=1)).replace(hour=9, minute=30, second=0,
                                                     microsecond=0)
    assert cue["nextAt"] == int(expected.timestamp() * 1000) and cue["at"] is None
    assert cue["cron"] == "30 9 * * *" and cue["timezone"] == "Europe/Paris"
    # A run (here recorded as the task records it) moves it to its next time; a second record
    # of the same time changes nothing.
    for _ in range(2):
        after = store.cues.record_run(cue["id"], cue["nextAt"], "ok", 200, seq=3)
        assert after is not None
        assert after["state"] == "scheduled" and after["runs"] == 1
        following = datetime.fromtimestamp(cue["nextAt"] / 1000, paris) + timedelta(days=1)
        assert after["nextAt"] == int(following.replace(hour=9, minute=30).timestamp() * 1000)
        assert after["lastRun"]["seq"] == 3 and after["lastRun"]["result"] == "ok"


def test_a_cue_runs_a_batch_on_its_time_and_reads_done(
        client: FlaskClient, store: StateStore, beat: Process, color_layer: dict) -> None:
    wait_for_beat_lease(store)
    cue = add(client, name="go green", inMs=1000, action={"kind": "batch", "operations": [
        {"op": "update", "id": color_layer["id"], "changes": {"content": {"color": "#00ff00"}}}],
        "transition": {"durationMs": 200, "easing": "easeIn"}})
    done = settled(client, cue["id"])
    run = done["lastRun"]
    assert done["state"] == "done" and done["nextAt"] is None and done["runs"] == 1
    assert run["result"] == "ok" and run["status"] == 200 and run["dueAt"] == cue["at"]
    # Sent LAYER_CUE_LEAD_MS ahead: committed about then, applied on air at its time.
    print(f"cue committed and recorded {run['ranAt'] - run['dueAt']} ms from its time")
    assert run["ranAt"] - run["dueAt"] < 250, run
    layer = client.get(f"/stream/layers/{color_layer['id']}").get_json()
    assert layer["content"]["color"] == "#00ff00" and layer["version"] == 2
    batches = [json.loads(fields["data"]) for _, fields in store.redis.xrange(store.keys.events)
               if fields["type"] == "layers.batch"]
    assert [batch["effectiveAt"] for batch in batches] == [cue["at"]]
    assert batches[0]["transition"] == {"durationMs": 200, "easing": "easeIn"}
    entry = store.history(1)["entries"][0]
    assert (entry["source"], entry["role"], entry["seq"]) == ("cue", "system", run["seq"])


def test_stream_cues_run_and_a_refused_one_reads_failed(
        client: FlaskClient, beat: Process) -> None:
    paused = add(client, name="pause", inMs=0, action={"kind": "pause"})
    failed = settled(client, paused["id"])
    assert failed["state"] == "failed" and failed["lastRun"]["status"] == 409
    assert "start it first" in failed["lastRun"]["error"]
    started = settled(client, add(client, name="start", inMs=200, action=START)["id"])
    assert started["state"] == "done" and started["lastRun"]["status"] == 200
    assert client.get("/stream/status").get_json()["state"] == "live"


def test_a_cue_late_by_more_than_its_grace_reads_missed(
        client: FlaskClient, store: StateStore, beat: Process, color_layer: dict) -> None:
    """As after a restart of everything: cues whose time passed while nothing ran. The beat
    sends each on its return; the task runs it within graceMs, else records it missed."""
    now = now_ms()
    hide = {"op": "update", "id": color_layer["id"], "changes": {"visible": False}}
    late = NewCue(name="late", action=CueAction("batch", (hide,)), at=now - 3000, grace_ms=1000)
    in_grace = NewCue(name="in grace", action=CueAction("start"), at=now - 3000, grace_ms=30_000)
    # A cron cue made an hour ago (its store's clock says so), due at 10:00 then.
    hour_ago = StateStore(store.redis, store.keys, max_layers=16, chat_history=20,
                          events_maxlen=1000, clock=lambda: now - 3_600_000)
    every_minute = NewCue(name="cron", action=CueAction("stop"), cron="* * * * *",
                          grace_ms=1000)
    ids = [store.cues.create(f"late-{n}", cue).body["id"] for n, cue in enumerate(
        (late, in_grace))] + [hour_ago.cues.create("late-cron", every_minute).body["id"]]
    missed, ran, cron = (settled(client, cue_id) for cue_id in ids)
    assert missed["state"] == "missed" and missed["lastRun"]["status"] is None
    assert client.get(f"/stream/layers/{color_layer['id']}").get_json()["visible"] is True
    assert ran["state"] == "done" and ran["lastRun"]["result"] == "ok"
    assert cron["state"] == "scheduled" and cron["lastRun"]["result"] == "missed"
    assert now < cron["nextAt"] <= now + 61_000 and cron["runs"] == 1
