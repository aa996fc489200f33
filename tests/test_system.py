"""The whole system as `make run` starts it: supervisord restarts what dies, and the state
survives a restart of every process and of Redis (append-only file)."""

import os
import signal
from pathlib import Path

import pytest
import requests

from tests.support.processes import wait_until
from tests.support.stack import Stack

pytestmark = pytest.mark.system


def _pid(stack: Stack, program: str) -> int:
    return int(stack.supervisorctl("pid", program).strip())


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

        # A worker killed with -9 comes back by itself and applies commands again.
        worker = _pid(stack, "worker")
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: _pid(stack, "worker") not in (0, worker), 30, "worker restarted")
        patched = api.patch(f"{stack.url}/stream/layers/{layer['id']}", json={"opacity": 0.5},
                            timeout=30)
        assert patched.status_code == 200 and patched.json()["version"] == 2
    finally:
        stack.stop()

    # Everything, Redis included, starts again from its append-only file.
    again = Stack(tmp_path / "data", redis_port=stack.redis_port).start()
    try:
        layers = requests.get(f"{again.url}/stream/layers").json()
        assert [(item["id"], item["version"], item["opacity"]) for item in layers] == [
            (layer["id"], 2, 0.5)]
        status = requests.get(f"{again.url}/stream/status").json()
        assert status["isLive"] is True
        chat = requests.get(f"{again.url}/stream/chat").json()
        assert [message["message"] for message in chat] == ["hello"]
    finally:
        again.stop()
