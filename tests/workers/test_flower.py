"""Flower as supervisord runs it (`python -m workers.flower`): always behind basic auth,
from FLOWER_BASIC_AUTH or, when that is unset, a password made once and kept in DATA_DIR."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import requests
from flask.testing import FlaskClient

from tests.support.processes import Process, free_port, wait_until
from tests.support.supervisord import supervisord_argv, supervisord_programs

ROOT = Path(__file__).resolve().parents[2]


def start_flower(env: dict[str, str], log: Path) -> tuple[Process, str]:
    port = free_port()
    env = {**os.environ, **env, "FLOWER_PORT": str(port)}
    argv = supervisord_argv("flower", supervisord_programs()["flower"], env)
    assert argv[:2] == ["python", "-m"], argv
    process = Process([sys.executable, *argv[1:]], log, env=env, cwd=ROOT).start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url, timeout=1).status_code, 30, "flower")
    except TimeoutError:
        process.stop()
        raise TimeoutError(f"flower did not start:\n{process.tail()}") from None
    return process, url


def test_flower_answers_401_without_credentials_and_200_with_them(
        base_env: dict[str, str], celery_worker, tmp_path: Path) -> None:
    flower, url = start_flower({**base_env, "FLOWER_BASIC_AUTH": "ops:flower-pass-123",
                                "DATA_DIR": str(tmp_path)}, tmp_path / "flower.log")
    try:
        for path in ("/", "/workers", "/tasks", "/api/workers", "/broker"):
            refused = requests.get(f"{url}{path}", timeout=10)
            assert refused.status_code == 401, path
        # The pages ask a browser for the password.
        assert requests.get(url, timeout=10).headers["WWW-Authenticate"].startswith("Basic")
        assert requests.get(url, auth=("ops", "wrong"), timeout=10).status_code == 401
        assert requests.get(url, auth=("ops", "flower-pass-123"), timeout=10).status_code == 200
        # The real worker shows up in Flower's API.
        wait_until(lambda: any(name.startswith("test@") for name in requests.get(
            f"{url}/api/workers?refresh=1", auth=("ops", "flower-pass-123"), timeout=10).json()),
            30, "the test worker in flower")
    finally:
        flower.stop()


def test_without_flower_basic_auth_a_password_is_made_and_kept(
        base_env: dict[str, str], tmp_path: Path) -> None:
    env = {**base_env, "FLOWER_BASIC_AUTH": "", "DATA_DIR": str(tmp_path)}
    flower, url = start_flower(env, tmp_path / "flower.log")
    try:
        credentials = tmp_path / "run" / "flower-credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        user, _, password = credentials.read_text().strip().partition(":")
        assert user == "admin" and len(password) >= 20
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=(user, password), timeout=10).status_code == 200
        assert password not in flower.tail()  # the log says where it is, not what it is
    finally:
        flower.stop()
    # A restart keeps the same password.
    flower, url = start_flower(env, tmp_path / "flower-2.log")
    try:
        assert requests.get(url, auth=(user, password), timeout=10).status_code == 200
    finally:
        flower.stop()


def test_flower_keeps_only_the_latest_tasks(base_env: dict[str, str], client: FlaskClient,
                                            tmp_path: Path) -> None:
    """Flower's own default keeps 100,000 tasks (about 1 GB here): the launcher sets 100, and
    an operator's FLOWER_MAX_TASKS wins."""
    auth = ("ops", "flower-pass-123")
    env = {**base_env, "FLOWER_BASIC_AUTH": ":".join(auth), "DATA_DIR": str(tmp_path)}
    flower, url = start_flower(env, tmp_path / "flower.log")
    try:
        assert flower.popen is not None  # the launcher became Flower: same process
        launched = Path(f"/proc/{flower.popen.pid}/environ").read_bytes().split(b"\0")
        assert b"FLOWER_MAX_TASKS=100" in launched
    finally:
        flower.stop()

    flower, url = start_flower({**env, "FLOWER_MAX_TASKS": "3"}, tmp_path / "flower-3.log")
    seen: set[str] = set()

    def many_tasks_seen() -> bool:
        # Flower turns the worker's task events on within 5 s; post until it has seen 8.
        client.post("/stream/chat", json={"author": "ann", "message": f"hello {len(seen)}"})
        seen.update(requests.get(f"{url}/api/tasks", auth=auth, timeout=10).json())
        return len(seen) >= 8

    try:
        wait_until(many_tasks_seen, 60, "8 tasks in flower", interval=0.2)
        assert len(requests.get(f"{url}/api/tasks", auth=auth, timeout=10).json()) == 3
    finally:
        flower.stop()
