"""The render lease, against a real Redis: one holder, owner-checked renewal, takeover."""

from __future__ import annotations

import queue

import redis

from core.lease import Lease
from render.inbox import LeaseChanged
from render.lease import LeaseKeeper
from tests.support.processes import wait_until


def test_one_holder_renews_and_a_second_takes_over_after_expiry(
        redis_client: redis.Redis) -> None:
    key = "smtest:render:lease-test"
    first = Lease(redis_client, key, "first", ttl=0.3)
    second = Lease(redis_client, key, "second", ttl=0.3)
    assert first.acquire() and not second.acquire()
    assert first.renew() and not second.renew()
    second.release()  # not its lease: nothing happens
    assert first.holder() == "first"
    wait_until(second.acquire, 3, "the second instance to take the expired lease")
    assert not first.renew() and first.holder() == "second"
    second.release()
    assert first.holder() is None


def test_keeper_reports_gaining_and_losing_the_lease(redis_client: redis.Redis) -> None:
    key = "smtest:render:lease-test"
    redis_client.delete(key)
    inbox: queue.Queue = queue.Queue()
    keeper = LeaseKeeper(Lease(redis_client, key, "keeper", ttl=2.0), inbox)
    keeper.start()
    try:
        assert inbox.get(timeout=3) == LeaseChanged(True)
        redis_client.set(key, "usurper")  # someone else holds it now
        assert inbox.get(timeout=3) == LeaseChanged(False)
    finally:
        keeper.stop()
        redis_client.delete(key)
