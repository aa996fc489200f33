"""Program audio through the API and a real worker: the defaults, changes with versions,
If-Match and events, every bad value answered 400 naming its field with nothing stored, the
bed's actions, and the render worker's levels in the reads."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from core import events
from core.audio import NOT_AUDIO, AudioSettings, Bed, Master
from core.config import Settings
from core.store import StateStore
from tests.support.levels import LEVELS

DEFAULTS = {
    "master": {"volume": 1.0, "muted": False},
    "bed": {"playlist": [], "loop": True, "shuffle": False, "volume": 0.5, "crossfadeMs": 2000,
            "duckDb": 0.0, "state": "playing", "cue": 0, "cueAction": None},
    "loudness": {"enabled": True, "targetLufs": -14.0, "truePeakDb": -1.0},
}


@pytest.fixture
def library(settings: Settings, media_assets: Path) -> Iterator[Path]:
    """The media root with bed.m4a, music/second.m4a and an image; emptied afterwards."""
    root = settings.media_root
    (root / "music").mkdir(parents=True, exist_ok=True)
    shutil.copy(media_assets / "bed.m4a", root / "bed.m4a")
    shutil.copy(media_assets / "bed.m4a", root / "music" / "second.m4a")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    yield root
    for path in root.iterdir():
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def settings_of(read: dict[str, Any]) -> dict[str, Any]:
    return {part: read[part] for part in ("master", "bed", "loudness")}


def audio_events(store: StateStore) -> list[dict[str, Any]]:
    return [json.loads(fields["data"]) for _id, fields in store.redis.xrange(store.keys.events)
            if fields["type"] == events.AUDIO_UPDATED]


def test_the_defaults_read_at_version_0_without_levels(client: FlaskClient,
                                                       store: StateStore) -> None:
    response = client.get("/stream/audio")
    assert response.status_code == 200 and response.headers["ETag"] == '"0"'
    assert response.get_json() == {**DEFAULTS, "version": 0, "levels": None}
    assert store.audio.get() == (AudioSettings(), 0)
    assert client.get("/stream/status").get_json()["audio"] is None


def test_a_change_merges_bumps_the_version_and_tells_the_render_worker(
        client: FlaskClient, store: StateStore, library: Path) -> None:
    changed = client.patch("/stream/audio", json={
        "master": {"volume": 2.5}, "bed": {"playlist": ["bed.m4a", "music/second.m4a"],
                                           "crossfadeMs": 500},
        "loudness": {"targetLufs": -23}})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] == '"1"'
    read = changed.get_json()
    assert read["version"] == 1 and read["levels"] is None
    assert read["master"] == {"volume": 2.5, "muted": False}
    assert read["bed"] == {**DEFAULTS["bed"], "playlist": ["bed.m4a", "music/second.m4a"],
                           "crossfadeMs": 500}
    assert read["loudness"] == {**DEFAULTS["loudness"], "targetLufs": -23.0}
    assert client.get("/stream/audio").get_json() == read
    settings, version = store.audio.get()
    assert version == 1 and settings.master == Master(volume=2.5)
    assert settings.bed == Bed(playlist=("bed.m4a", "music/second.m4a"), crossfade_ms=500)
    assert audio_events(store) == [{**settings_of(read), "version": 1}]

    stale = client.patch("/stream/audio", json={"master": {"muted": True}},
                         headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.get_json()["current"] == {**settings_of(read), "version": 1}
    muted = client.patch("/stream/audio", json={"master": {"muted": True}},
                         headers={"If-Match": '"1"'})
    assert muted.status_code == 200 and muted.get_json()["version"] == 2
    assert muted.get_json()["master"] == {"volume": 2.5, "muted": True}
    # The same values again change nothing: no new version, no event.
    again = client.patch("/stream/audio", json={"master": {"muted": True}})
    assert again.get_json()["version"] == 2 and len(audio_events(store)) == 2


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"master": {"volume": 10}}, "master.volume", "less than or equal to 4"),
    ({"master": {"volume": "1"}}, "master.volume", "must be a number"),
    ({"bed": {"volume": -0.1}}, "bed.volume", "greater than or equal to 0"),
    ({"loudness": {"targetLufs": 0}}, "loudness.targetLufs", "-5"),
    ({"loudness": {"truePeakDb": 1}}, "loudness.truePeakDb", "less than or equal to 0"),
    ({"bed": {"crossfadeMs": -1}}, "bed.crossfadeMs", "greater than or equal to 0"),
    ({"bed": {"duckDb": 41}}, "bed.duckDb", "40"),
    ({"bed": {"playlist": ["bed.m4a", "logo.png"]}}, "bed.playlist.1", NOT_AUDIO),
    ({"bed": {"playlist": ["missing.mp3"]}}, "bed.playlist.0", NOT_AUDIO),
    ({"bed": {"playlist": ["../bed.m4a"]}}, "bed.playlist.0", NOT_AUDIO),
    ({"bed": {"playlist": ["/etc/bed.m4a"]}}, "bed.playlist.0", NOT_AUDIO),
    ({"bed": {"playlist": ["music"]}}, "bed.playlist.0", NOT_AUDIO),
    ({"bed": {"playlist": ["bed.m4a"] * 501}}, "bed.playlist", "500"),
    ({"bed": {"state": "paused"}}, "bed.state", "POST /stream/audio/bed"),
    ({"bed": {"cue": 3}}, "bed.cue", "read-only"),
    ({"version": 3}, "version", "Unknown"),
    ({}, "_schema", "at least one"),
])
def test_each_bad_value_is_a_400_naming_its_field(client: FlaskClient, store: StateStore,
                                                  library: Path, body: dict, field: str,
                                                  says: str) -> None:
    response = client.patch("/stream/audio", json=body)
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert answer["error"] == "validation_error"
    assert says in answer["fields"][field], answer
    assert store.audio.get() == (AudioSettings(), 0)


def test_a_symlink_out_of_the_library_is_not_in_it(client: FlaskClient, library: Path,
                                                   media_assets: Path) -> None:
    os.symlink(media_assets / "bed.m4a", library / "outside.m4a")
    response = client.patch("/stream/audio", json={"bed": {"playlist": ["outside.m4a"]}})
    assert response.status_code == 400
    assert response.get_json()["fields"]["bed.playlist.0"].startswith(NOT_AUDIO)


def test_bed_actions_set_its_state_and_move_its_cue(client: FlaskClient,
                                                    store: StateStore) -> None:
    def act(action: str, **headers: str) -> Any:
        return client.post("/stream/audio/bed", json={"action": action}, headers=headers)

    paused = act("pause")
    assert paused.status_code == 200 and paused.headers["ETag"] == '"1"'
    assert paused.get_json()["bed"]["state"] == "paused" and "levels" in paused.get_json()
    assert act("pause").get_json()["version"] == 1  # already paused: nothing changes
    assert act("play").get_json()["bed"]["state"] == "playing"
    cues = [act(action).get_json()["bed"] for action in ("next", "previous", "restart", "next")]
    assert [(bed["cue"], bed["cueAction"]) for bed in cues] == [
        (1, "next"), (2, "previous"), (3, "restart"), (4, "next")]
    assert store.audio.get()[0].bed.cue == 4 and store.audio.get()[1] == 6
    assert act("restart", **{"If-Match": '"2"'}).status_code == 412

    wrong = client.post("/stream/audio/bed", json={"action": "stop"})
    assert wrong.status_code == 400 and "action" in wrong.get_json()["fields"]
    assert client.post("/stream/audio/bed", json={}).get_json()["fields"]["action"]
    assert store.audio.get()[1] == 6


def test_reads_and_the_status_carry_the_render_workers_levels(client: FlaskClient,
                                                              store: StateStore) -> None:
    store.live.write_telemetry({**store.live.telemetry(), "fps": 30.0, "audio": LEVELS})
    assert client.get("/stream/audio").get_json()["levels"] == LEVELS
    assert client.get("/stream/status").get_json()["audio"] == LEVELS
    changed = client.patch("/stream/audio", json={"bed": {"loop": False}}).get_json()
    assert changed["levels"] == LEVELS and changed["bed"]["loop"] is False
    store.live.mark_render_stale("no render worker")
    assert client.get("/stream/status").get_json()["audio"] is None
    assert client.get("/stream/audio").get_json()["levels"] is None
