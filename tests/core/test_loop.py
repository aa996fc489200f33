"""The shared background loop against a real Redis and a port where none listens: an outage is
logged once when it starts and once when it ends, and `stop()` does not wait out a pause."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.loop import BackgroundLoop, OutageLog
from tests.support.processes import free_port, wait_until

log = logging.getLogger(__name__)


class Pinger(BackgroundLoop):
    """Pings `client` every `pause` seconds; the test swaps the client to cause an outage."""

    def __init__(self, client: redis.Redis, pause: float, retry: float) -> None:
        super().__init__("pinger", OutageLog(log, "ping lost Redis (%s)", back="ping has Redis"),
                         retry)
        self.client = client
        self.pause = pause
        self.tries = 0
        self.pings = 0

    def step(self) -> float:
        self.tries += 1
        self.client.ping()
        self.pings += 1
        return self.pause


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(record.levelno, record.getMessage().split(" (")[0])
            for record in caplog.records if record.name == __name__]


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
        redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=__name__)
    # No retries of its own: each try of the loop is one refused connection.
    nowhere = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    pinger = Pinger(nowhere, pause=0.01, retry=0.01)
    pinger.start()
    try:
        wait_until(lambda: pinger.tries >= 10, 5, "ten failed tries")  # logged once
        pinger.client = redis_client
        wait_until(lambda: pinger.pings >= 3, 5, "pings again")
        pinger.client = nowhere
        wait_until(lambda: len(caplog.records) >= 3, 5, "the second outage")
    finally:
        pinger.stop()
        nowhere.close()
    assert messages(caplog) == [(logging.WARNING, "ping lost Redis"),
                                (logging.INFO, "ping has Redis"),
                                (logging.WARNING, "ping lost Redis")]
    assert not pinger.is_alive()


def test_stop_ends_a_pause_at_once(redis_client: redis.Redis) -> None:
    pinger = Pinger(redis_client, pause=60, retry=60)
    pinger.start()
    wait_until(lambda: pinger.pings == 1, 5, "the first ping")
    started = time.monotonic()
    pinger.stop()
    assert not pinger.is_alive() and time.monotonic() - started < 1
