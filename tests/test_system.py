"""The whole system as `make run` starts it: supervisord restarts what dies, the state
survives a restart of every process and of Redis (append-only file), with no RTMP_URL the
stream is recorded, and the preview shows the program, out of the box."""

import os
import signal
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import requests

from tests.support.metrics import scrape
from tests.support.preview import PreviewClient
from tests.support.processes import wait_until
from tests.support.stack import ROOT, Stack

pytestmark = pytest.mark.system


def _pid(stack: Stack, program: str) -> int:
    return int(stack.supervisorctl("pid", program).strip())


def _preview_shows_the_box(stack: Stack) -> bool:
    """A browser-like client (the admin page's Origin) gets hello and a medium frame with the
    #336699 box at (40, 50)-(240, 150) of 1280x720, halved."""
    client = PreviewClient(stack.preview_url, origin=stack.url)
    try:
        hello = client.wait_for("hello")["payload"]
        assert (hello["width"], hello["height"]) == (640, 360)
        wait_until(lambda: client.received.last_frame, 30, "a preview frame")
        jpeg = client.received.last_frame
    finally:
        client.close()
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 640, 3)
    blue, green, red = (int(value) for value in picture[50, 70])
    assert abs(blue - 0x99) < 12 and abs(green - 0x66) < 12 and abs(red - 0x33) < 12
    return True


def _every_metrics_endpoint_reads_the_show(stack: Stack) -> None:
    """Each process's Prometheus text parses, and says what the system is doing."""
    urls = stack.metrics_urls()
    scrapes = {name: scrape(url, auth=stack.flower_auth if name == "flower" else None)
               for name, url in urls.items()}
    api = scrapes["api"]
    assert api.total("stream_manager_layers") == 1
    assert api.total("stream_manager_stream_desired_state", state="live") == 1
    assert api.total("stream_manager_api_requests_total", endpoint="stream.start") >= 1
    assert api.total("stream_manager_render_heartbeat_age_seconds") < 5
    wait_until(lambda: scrape(urls["api"]).total("stream_manager_health_checks_total",
                                                 check="render") >= 1, 30, "a health check")
    renders = [scrapes["render_0"], scrapes["render_1"]]
    assert sorted(render.total("stream_manager_render_active") for render in renders) == [0, 1]
    streaming = next(render for render in renders if render.total("stream_manager_render_active"))
    assert streaming.total("stream_manager_render_frames_total") > 0
    assert streaming.total("stream_manager_render_output_state", state="live") == 1
    assert "stream_manager_preview_clients" in scrapes["preview"].families
    assert scrapes["flower"].families  # Flower's own flower_* metrics


def _flower_asks_for_its_password(stack: Stack) -> None:
    assert requests.get(stack.flower_url, timeout=10).status_code == 401
    assert requests.get(stack.flower_url, auth=stack.flower_auth, timeout=10).status_code == 200


def test_make_run_survives_crashes_and_full_restarts(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data").start()
    try:
        api = requests.Session()
        layer = api.post(f"{stack.url}/stream/layers", json={
            "name": "logo-box", "type": "color", "content": {"color": "#336699"},
            "transform": {"x": 40, "y": 50, "width": 200, "height": 100}}).json()
        assert api.post(f"{stack.url}/stream/start").json()["isLive"] is True
        assert api.post(f"{stack.url}/stream/chat",
                        json={"author": "ann", "message": "hello"}).status_code == 201
        recordings = tmp_path / "data" / "recordings"
        wait_until(lambda: _streaming(stack), 60, "the render worker streaming")
        wait_until(lambda: _recorded_bytes(recordings) > 100_000, 30, "a growing recording")
        _preview_shows_the_box(stack)
        _every_metrics_endpoint_reads_the_show(stack)
        _flower_asks_for_its_password(stack)

        # The preview process killed with -9 comes back, and a browser reconnecting sees again.
        preview = _pid(stack, "preview")
        os.kill(preview, signal.SIGKILL)
        wait_until(lambda: _pid(stack, "preview") not in (0, preview), 30, "preview restarted")
        wait_until(lambda: _preview_shows_the_box(stack), 30, "the restarted preview")

        # The streaming render worker killed with -9: the standby (or a restarted one) resumes.
        active = requests.get(f"{stack.url}/health").json()["checks"]["render"]["active"]
        os.kill(int(active.split("-")[-2]), signal.SIGKILL)
        wait_until(lambda: _streaming(stack, not_by=active), 30, "another render streaming")

        # A worker killed with -9 comes back by itself and applies commands again.
        worker = _pid(stack, "worker")
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: _pid(stack, "worker") not in (0, worker), 30, "worker restarted")
        patched = api.patch(f"{stack.url}/stream/layers/{layer['id']}", json={"opacity": 0.5},
                            timeout=30)
        # Its process exists before it consumes: a machine busy enough makes the command
        # outlast COMMAND_TIMEOUT (202) and the restarted worker apply it a moment later.
        if patched.status_code == 202:
            status_url = f"{stack.url}{patched.json()['statusUrl']}"
            done = wait_until(lambda: (found := api.get(status_url, timeout=10).json())
                              ["status"] == "done" and found, 30, "the pending command")
            assert done["httpStatus"] == 200 and done["result"]["version"] == 2
        else:
            assert patched.status_code == 200 and patched.json()["version"] == 2
    finally:
        stack.stop()

    # Everything, Redis included, starts again from its append-only file.
    before = len(list(recordings.glob("*.mkv")))
    again = Stack(tmp_path / "data", redis_port=stack.redis_port).start()
    try:
        layers = requests.get(f"{again.url}/stream/layers").json()
        assert [(item["id"], item["version"], item["opacity"]) for item in layers] == [
            (layer["id"], 2, 0.5)]
        status = requests.get(f"{again.url}/stream/status").json()
        assert status["isLive"] is True
        chat = requests.get(f"{again.url}/stream/chat").json()
        assert [message["message"] for message in chat] == ["hello"]
        # Still live after the restart: the render worker resumes streaming by itself.
        wait_until(lambda: len(list(recordings.glob("*.mkv"))) > before and _streaming(again),
                   60, "streaming again after the restart")
        _a_cue_survives_restart_all(again, layer["id"])
    finally:
        again.stop()

    # Every recording was closed with a trailer (the last one by Ctrl-C) and plays.
    for recording in recordings.glob("*.mkv"):
        with av.open(str(recording)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "aac"
            assert sum(1 for _ in container.decode(video=0)) > 10


def test_make_run_refuses_an_open_host_without_a_token(tmp_path: Path) -> None:
    """HOST=0.0.0.0 with no API_TOKEN: make run stops before starting anything, naming the
    settings (tests/app/test_exposure.py runs the API and the preview with the opt-out)."""
    stack = Stack(tmp_path / "data", env={"HOST": "0.0.0.0"})
    result = subprocess.run(["make", "--no-print-directory", "run"], env=stack.env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert ("stream-manager: configuration error: HOST: 0.0.0.0 can be reached from other "
            "machines and API_TOKEN is not set") in result.stderr
    assert "ALLOW_NO_TOKEN=yes" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "run" / "supervisord.pid").exists()


def _a_cue_survives_restart_all(stack: Stack, layer_id: str) -> None:
    """A cue made just before `supervisorctl restart all` (Redis too: from its AOF) falls due
    while the processes restart; the beat sends it on its return and, under its grace, it runs
    (the history records it from the cue)."""
    cue = requests.post(f"{stack.url}/stream/cues", timeout=10, json={
        "name": "through a restart", "inMs": 3000, "graceMs": 60_000,
        "action": {"kind": "batch", "operations": [
            {"op": "update", "id": layer_id, "changes": {"opacity": 0.25}}]}}).json()
    stack.supervisorctl("restart", "all")
    ran = wait_until(lambda: (found := requests.get(f"{stack.url}/stream/cues/{cue['id']}",
                                                    timeout=2).json())["lastRun"] and found,
                     60, "the cue to run after the restart")
    print(f"cue ran {ran['lastRun']['ranAt'] - ran['lastRun']['dueAt']} ms after its time")
    assert (ran["state"], ran["lastRun"]["result"]) == ("done", "ok"), ran
    layer = requests.get(f"{stack.url}/stream/layers/{layer_id}", timeout=2).json()
    assert (layer["opacity"], layer["version"]) == (0.25, 3)


def _streaming(stack: Stack, not_by: str | None = None) -> bool:
    health = requests.get(f"{stack.url}/health", timeout=2).json()["checks"]["render"]
    status = requests.get(f"{stack.url}/stream/status", timeout=2).json()
    return (health["active"] not in (None, not_by) and status["fps"] > 20
            and [output["state"] for output in status["outputs"]] == ["live"])


def _recorded_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.mkv"))
