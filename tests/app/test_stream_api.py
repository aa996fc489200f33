"""Stream status and control through the API and a real worker."""

from flask.testing import FlaskClient

STATUS_FIELDS = {"isLive", "isPaused", "fps", "targetFPS", "frameCount", "droppedFrames",
                 "averageRenderTime", "startTime", "error", "version", "outputs"}


def test_status_has_every_field_of_the_contract(client: FlaskClient) -> None:
    response = client.get("/stream/status")
    assert response.status_code == 200
    body = response.get_json()
    assert STATUS_FIELDS <= set(body)
    assert body["isLive"] is False and body["isPaused"] is False
    assert body["startTime"] is None and body["error"] is None
    assert body["targetFPS"] == 30 and body["outputs"] == []
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_start_pause_resume_stop_walks_the_states(client: FlaskClient) -> None:
    version = client.get("/stream/status").get_json()["version"]

    started = client.post("/stream/start").get_json()
    assert started["isLive"] is True and started["isPaused"] is False
    assert isinstance(started["startTime"], int) and started["version"] == version + 1

    paused = client.post("/stream/pause").get_json()
    assert paused["isLive"] is True and paused["isPaused"] is True
    assert paused["startTime"] == started["startTime"] and paused["version"] == version + 2

    resumed = client.post("/stream/resume").get_json()
    assert resumed["isPaused"] is False and resumed["version"] == version + 3

    stopped = client.post("/stream/stop").get_json()
    assert stopped["isLive"] is False and stopped["startTime"] is None
    assert client.get("/stream/status").get_json() == stopped


def test_control_is_idempotent(client: FlaskClient) -> None:
    first = client.post("/stream/start")
    second = client.post("/stream/start")
    assert first.status_code == second.status_code == 200
    assert second.get_json()["version"] == first.get_json()["version"]
    client.post("/stream/stop")
    again = client.post("/stream/stop")
    assert again.status_code == 200 and again.get_json()["isLive"] is False


def test_pausing_a_stopped_stream_is_a_conflict(client: FlaskClient) -> None:
    for action in ("pause", "resume"):
        response = client.post(f"/stream/{action}")
        assert response.status_code == 409
        body = response.get_json()
        assert body["error"] == "conflict" and "state" in body["fields"]
    assert client.get("/stream/status").get_json()["isLive"] is False


def test_control_takes_no_body_fields(client: FlaskClient) -> None:
    assert client.post("/stream/start", json={}).status_code == 200
    response = client.post("/stream/stop", json={"force": True})
    assert response.status_code == 400
    assert "force" in response.get_json()["fields"]
    assert client.get("/stream/status").get_json()["isLive"] is True
