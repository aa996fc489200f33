"""The API as supervisord runs it (gunicorn, two workers): its metrics add up across the
workers, state read from Redis shows in them, and RATE_LIMIT holds across the workers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.api_server import ApiServer
from tests.support.metrics import scrape
from tests.support.processes import wait_until
from tests.support.redis_server import RedisServer


@pytest.fixture
def api(base_env: dict[str, str], celery_worker, redis_client,
        tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    """Factory of API processes whose metric files go to tmp_path/metrics."""
    servers: list[ApiServer] = []

    def start(**overrides: str) -> ApiServer:
        env = {**base_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **overrides}
        servers.append(ApiServer(env, tmp_path).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def metrics_url(server: ApiServer) -> str:
    return f"http://127.0.0.1:{server.env['METRICS_PORT']}/metrics"


def answering_workers(server: ApiServer) -> set[str]:
    """The worker pids that wrote request metrics (a file per process)."""
    directory = Path(server.env["PROMETHEUS_MULTIPROC_DIR"])
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}


def hammer(send: Callable[[], requests.Response], count: int) -> list[requests.Response]:
    """`count` requests over 16 connections at once, so both workers take some."""
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def test_request_counts_add_up_across_two_workers_and_state_shows(
        api, redis_server: RedisServer) -> None:
    server = api()
    url = metrics_url(server)
    before = scrape(url)
    assert before.families["stream_manager_api_requests"] == "counter"
    answers = hammer(lambda: requests.get(f"{server.url}/stream/status", timeout=10), 300)
    assert all(answer.status_code == 200 for answer in answers)
    assert len(answering_workers(server)) == 2, "both workers should have answered"
    after = scrape(url)
    served = {"endpoint": "stream.status", "status": "200", "method": "GET"}
    assert (after.total("stream_manager_api_requests_total", **served)
            - before.total("stream_manager_api_requests_total", **served)) == 300
    assert (after.total("stream_manager_api_http_request_duration_seconds_count", **served)
            - before.total("stream_manager_api_http_request_duration_seconds_count",
                           **served)) == 300
    assert after.total("stream_manager_api_redis_command_duration_seconds_count") > 300
    assert after.total("stream_manager_redis_up") == 1
    assert after.total("stream_manager_stream_desired_state", state="stopped") == 1

    created = requests.post(f"{server.url}/stream/layers", timeout=10, json={
        "type": "color", "content": {"color": "#00ff00"}})
    assert created.status_code == 201
    bad = requests.post(f"{server.url}/stream/layers", timeout=10, json={"type": "video"})
    assert bad.status_code == 400
    now = scrape(url)
    assert now.total("stream_manager_layers") == 1
    assert now.total("stream_manager_layers_visible") == 1
    assert now.total("stream_manager_api_requests_total", endpoint="layers.create_layer",
                     status="400") == 1
    assert now.total("stream_manager_health_checks_total") >= 0

    # Redis gone: the scrape still answers, says so, and keeps the request counts.
    redis_server.stop()
    try:
        down = scrape(url)
        assert down.total("stream_manager_redis_up") == 0
        assert down.total("stream_manager_api_requests_total", **served) \
            == now.total("stream_manager_api_requests_total", **served)
    finally:
        redis_server.start()
    wait_until(lambda: scrape(url).total("stream_manager_redis_up") == 1, 15, "Redis back")


def test_rate_limit_holds_across_workers_and_answers_429_with_retry_after(api) -> None:
    server = api(RATE_LIMIT="20/minute")
    answers = hammer(lambda: requests.post(f"{server.url}/stream/chat", timeout=10, json={
        "author": "flood", "message": "hi"}), 30)
    assert len(answering_workers(server)) == 2, "both workers should have answered"
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(429) == 10, statuses
    assert all(status in (201, 202) for status in statuses if status != 429), statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["limit"] == "20 per 1 minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    accepted = next(answer for answer in answers if answer.status_code != 429)
    assert "Retry-After" not in accepted.headers
    # Reads are never limited; another change still is.
    reads = hammer(lambda: requests.get(f"{server.url}/stream/chat", timeout=10), 40)
    assert {answer.status_code for answer in reads} == {200}
    assert requests.post(f"{server.url}/stream/start", timeout=10).status_code == 429
