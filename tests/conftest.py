"""Fixtures that run the real parts: a redis-server on a free port (stoppable, with AOF), a
Celery worker process consuming the `control` and `health` queues, and render worker processes.
State keys are wiped before each test; the broker's own keys are left alone so the worker keeps
its queue bindings."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from core.config import Settings, load_settings
from core.redis_client import connect
from core.store import StateStore
from tests.support.assets import AssetsMaker
from tests.support.beat import start_beat
from tests.support.processes import Process, wait_until
from tests.support.redis_server import RedisServer
from tests.support.render_worker import RenderWorkers

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole session."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def assets_maker(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[AssetsMaker]:
    """Starts making the shared media as the session starts, if a test of it needs them."""
    maker = AssetsMaker(tmp_path_factory.mktemp("assets"))
    if any("media_assets" in getattr(item, "fixturenames", ()) for item in request.session.items):
        maker.start()
    yield maker
    maker.stop()


@pytest.fixture(scope="session")
def media_assets(assets_maker: AssetsMaker) -> Path:
    """The shared benchmark media (bg.mp4, bed.m4a, the scene's images), made once."""
    return assets_maker.wait()


@pytest.fixture(scope="session")
def base_env(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment every process of the test system runs with."""
    return {
        "REDIS_URL": redis_server.url,
        "REDIS_PREFIX": "smtest:",
        "REDIS_TIMEOUT": "0.5",
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "RECORDINGS_DIR": str(tmp_path_factory.mktemp("recordings")),
        # Generous, so a loaded CI machine still answers 200 rather than 202.
        "COMMAND_TIMEOUT": "5",
        "MAX_LAYERS": "16",
        "CHAT_HISTORY": "20",
    }


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Settings:
    """Settings matching the test system's environment."""
    return load_settings(base_env)


@pytest.fixture(scope="session")
def celery_worker(base_env: dict[str, str], settings: Settings,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """A real `celery -A workers worker -Q control,health`, as supervisord runs it."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "control,health",
         "--hostname", "test@%h", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
        log, env={**os.environ, **base_env}, cwd=ROOT,
    ).start()
    try:
        wait_until(lambda: "ready." in log.read_text(errors="replace"), 60, "celery worker")
    except TimeoutError:
        worker.stop()
        raise TimeoutError(f"the worker did not start:\n{worker.tail()}") from None
    yield worker
    worker.stop()


@pytest.fixture
def redis_client(settings: Settings, redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the test Redis; the stream manager's state is wiped first."""
    client = connect(settings)
    wait_until(client.ping, 15, "redis")
    wipe_state(client, settings)
    yield client
    client.close()


def wipe_state(client: redis.Redis, settings: Settings) -> None:
    """Delete every state key of the prefix, keeping the broker's keys."""
    broker_prefix = f"{settings.redis_prefix}celery:"
    doomed = [key for key in client.scan_iter(f"{settings.redis_prefix}*", count=1000)
              if not key.startswith(broker_prefix)]
    if doomed:
        client.delete(*doomed)


@pytest.fixture
def store(settings: Settings, redis_client: redis.Redis) -> StateStore:
    """The state store, on the test Redis."""
    return StateStore.from_settings(settings, redis_client)


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis, celery_worker: Process) -> Iterator[Flask]:
    """The API app, with a real worker behind it."""
    built = create_app(settings)
    yield built
    built.extensions["stream_manager"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The Flask test client of `app`."""
    return app.test_client()


@pytest.fixture
def render_workers(base_env: dict[str, str], redis_client: redis.Redis, celery_worker: Process,
                   tmp_path: Path) -> Iterator[RenderWorkers]:
    """Factory of `python -m render` processes on the test Redis (state wiped first, a real
    Celery worker running); all are stopped cleanly after the test."""
    workers = RenderWorkers(base_env, tmp_path)
    yield workers
    workers.stop_all()


@pytest.fixture
def color_layer(client: FlaskClient) -> dict:
    """A red 100x100 box at (10, 20), created through the API."""
    response = client.post("/stream/layers", json={
        "name": "box", "type": "color", "content": {"color": "#ff0000"},
        "transform": {"x": 10, "y": 20, "width": 100, "height": 100},
    })
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def beat(base_env: dict[str, str], celery_worker: Process,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """`celery -A workers beat`, sending the cues."""
    process = start_beat(base_env, tmp_path_factory.mktemp("beat") / "beat.log")
    yield process
    process.stop()
