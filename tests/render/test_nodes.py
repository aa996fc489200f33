"""Channels on a pool of render nodes, for real: nodes are `python -m render` processes (each
with a process per channel), channels and their layers and outputs are set through the API
(real Celery worker), every channel streams to its own path of one nginx-rtmp, and players
pull each back.

The nodes run through the whole module (each test leaves at least two alive, with capacity
1 each; a 320x180 30 fps channel costs 0.0625 of it), so each test starts from where the
previous one left the pool and picks its victims from the placements it reads.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from app import create_app
from core.config import Settings
from core.redis_client import connect
from tests.conftest import wipe_state
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import Process, holds_for, wait_until
from tests.support.publish_log import PublishLog
from tests.support.render_nodes import RenderNodes

FPS = 30
NODE_ENV = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": str(FPS),
            "RECORD": "off", "RENDER_CAPACITY": "1"}
# One 1280x720 channel at 30 fps costs exactly 1.
FULL_COST = {"width": 1280, "height": 720, "fps": 30}
# Each channel's one layer fills the frame with its colour (RGB hex, and BGR as decoded).
CHANNELS = {"news": ("#ff0000", (0, 0, 255)), "sport": ("#00ff00", (0, 255, 0)),
            "music": ("#0000ff", (255, 0, 0))}
TOLERANCE = 40
# A pause in arrivals this long is a stream that ended and came back, not jitter.
BLINK = 0.5


@dataclass
class Pool:
    """The module's render nodes, the API, the ingest (and who published to it) and the
    players of the channels."""

    api: FlaskClient
    nodes: RenderNodes
    ingest: NginxRtmp
    publishes: PublishLog
    players: dict[str, Player]

    def placement(self, channel: str) -> dict[str, Any]:
        """The channel's placement as the API shows it."""
        response = self.api.get(f"/channels/{channel}")
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["placement"])

    def alive(self) -> list[Process]:
        """The nodes whose process runs."""
        return [node for node in self.nodes.started if node.running]

    def node_of(self, channel: str) -> Process:
        """The node the channel is placed on."""
        placed = self.placement(channel)["node"]
        return next(node for node in self.alive() if self.nodes.node_id(node) == placed)

    def node_state(self, node_id: str) -> str | None:
        """up, draining or lost, as GET /nodes shows the node (None: not listed)."""
        nodes = self.api.get("/nodes").get_json()["nodes"]
        return next((node["state"] for node in nodes if node["id"] == node_id), None)

    def holder(self, channel: str) -> tuple[Process, str, list[str]]:
        """The node `channel` is placed on, its id, and every channel placed on it."""
        node = self.node_of(channel)
        node_id = self.nodes.node_id(node)
        return node, node_id, [each for each in CHANNELS
                               if self.placement(each)["node"] == node_id]

    def ensure(self, count: int) -> None:
        """Start nodes until `count` run."""
        while len(self.alive()) < count:
            self.nodes.start_node(**NODE_ENV)


@pytest.fixture(scope="module")
def pool(base_env: dict[str, str], settings: Settings, celery_worker: Process,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    """The API (its state wiped first), an nginx-rtmp reporting its publishers, and a
    factory of render nodes; everything stopped after the module."""
    workdir = tmp_path_factory.mktemp("nodes")
    client: redis.Redis = connect(settings)
    wipe_state(client, settings)
    app = create_app(settings)
    publishes = PublishLog().start()
    ingest = NginxRtmp(workdir / "ingest", notify_url=publishes.url).start()
    pool = Pool(app.test_client(), RenderNodes(base_env, workdir, client), ingest, publishes,
                {})
    yield pool
    for player in pool.players.values():
        player.close()
    pool.nodes.stop_all()
    ingest.stop()
    publishes.stop()
    app.extensions["stream_manager"].close()
    client.close()


def create_channel(pool: Pool, channel: str, output: dict[str, int]) -> None:
    """A channel through the API."""
    response = pool.api.post("/channels", json={"id": channel, "name": channel.title(),
                                                "output": output})
    assert response.status_code == 201, response.get_json()


def post(pool: Pool, path: str, **body: Any) -> dict[str, Any]:
    """POST through the API; the JSON answered (2xx asserted)."""
    response = pool.api.post(path, json=body or None)
    assert response.status_code in (200, 201), (path, response.get_json())
    return dict(response.get_json())


@pytest.fixture(scope="module")
def show(pool: Pool) -> dict[str, Player]:
    """Three channels live on two nodes, each with its own colour, output path and player."""
    pool.ensure(2)
    for channel, (color, _bgr) in CHANNELS.items():
        create_channel(pool, channel, {"width": 320, "height": 180, "fps": FPS})
        post(pool, f"/channels/{channel}/stream/outputs", kind="rtmp",
             url=pool.ingest.url(channel))
        post(pool, f"/channels/{channel}/stream/layers", name="fill", type="color",
             content={"color": color}, transform={"x": 0, "y": 0, "width": 320, "height": 180})
        post(pool, f"/channels/{channel}/stream/start")
        pool.players[channel] = Player(pool.ingest.url(channel)).start()
    for channel, (_color, bgr) in CHANNELS.items():
        wait_for_colour(pool.players[channel], bgr, 30)
    return pool.players


def close_to(actual: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - e) <= TOLERANCE for a, e in zip(actual, expected, strict=True))


def wait_for_colour(player: Player, bgr: tuple[int, int, int], timeout: float) -> None:
    """Until the newest decoded frame shows `bgr` in its middle."""
    wait_until(lambda: close_to(player.pixel(160, 90), bgr), timeout,
               f"BGR {bgr} from {player.url}")


def resumed(player: Player, since: float) -> float | None:
    """When the stream came back after `since`: the arrival of the first frame of another
    publisher's stream (its timestamps start again from 0), or the first after a pause of
    BLINK or more; None while it has not."""
    frames = player.frames_since(since - 2 * BLINK)
    for earlier, later in zip(frames, frames[1:], strict=False):
        restarted = (later.pts is not None and earlier.pts is not None
                     and later.pts < earlier.pts)
        if later.arrival > since and (restarted or later.arrival - earlier.arrival >= BLINK):
            return later.arrival
    return None


def blink(player: Player, since: float) -> float:
    """How long the stream was off (between two frames' arrivals) where it came back after
    `since`."""
    back = resumed(player, since)
    assert back is not None, f"{player.url} did not blink"
    before = [frame.arrival for frame in player.frames_since(since - 10) if frame.arrival < back]
    return back - before[-1]


def wait_resumed(player: Player, since: float, timeout: float) -> float:
    """Seconds from `since` until the stream came back (see `resumed`)."""
    back = wait_until(lambda: resumed(player, since), timeout, f"{player.url} back on air")
    return float(back) - since


def unbroken(player: Player, since: float, until: float) -> bool:
    """Whether the player got every frame between `since` and `until` (each timestamp one
    frame after the last: none missing, no restart) without a pause in their arrival."""
    frames = [frame for frame in player.frames_since(since) if frame.arrival <= until]
    stamps = [frame.pts for frame in frames if frame.pts is not None]
    if len(stamps) < 0.8 * FPS * (until - since):
        return False
    steps = [round((later - earlier) * FPS) for earlier, later in zip(stamps, stamps[1:],
                                                                      strict=False)]
    gaps = [later.arrival - earlier.arrival
            for earlier, later in zip(frames, frames[1:], strict=False)]
    return set(steps) == {1} and max(gaps) < BLINK


def assert_unbroken(player: Player, since: float, until: float) -> None:
    """The player got every frame between `since` and `until` without a pause."""
    assert unbroken(player, since, until), f"{player.url} dropped frames or paused"


def steady(show: dict[str, Player]) -> float:
    """Wait until every stream has run unbroken for the last second (what an earlier test
    did has settled); that second's start, from which the next fault is judged."""
    def settled() -> float | None:
        now = time.monotonic()
        return now - 1 if all(unbroken(player, now - 1, now) for player in show.values()) \
            else None

    return float(wait_until(settled, 15, "every channel streaming unbroken"))


def test_a_channel_that_fits_nowhere_reads_unplaced_until_a_node_starts(pool: Pool) -> None:
    first = pool.nodes.start_node(**NODE_ENV)
    for channel in ("big-a", "big-b"):
        create_channel(pool, channel, FULL_COST)
        wait_until(lambda c=channel: pool.placement(c)["state"] == "placed", 5, f"{channel}")
    for channel in ("big-a", "big-b"):
        post(pool, f"/channels/{channel}/stream/start")
    reason = "needs 1.00 units, the most free on any node is 0.00"
    wait_until(lambda: pool.placement("big-b")["reason"] == reason, 5, "big-b unplaced")
    status = pool.api.get("/channels/big-b/stream/status").get_json()
    assert status["placement"]["state"] == "unplaced" and status["placement"]["node"] is None
    assert status["placement"]["reason"] == reason
    assert pool.placement("big-a")["node"] == pool.nodes.node_id(first)

    started = time.monotonic()
    second = pool.nodes.start_node(**NODE_ENV)
    wait_until(lambda: pool.placement("big-b")["node"] == pool.nodes.node_id(second), 5,
               "big-b placed on the new node")
    assert time.monotonic() - started <= 3.0
    for channel in ("big-a", "big-b"):
        post(pool, f"/channels/{channel}/stream/stop")
        wait_until(lambda c=channel: pool.api.delete(f"/channels/{c}").status_code == 204, 15,
                   f"{channel} deleted")


def test_three_channels_on_two_nodes_are_pulled_back_with_their_own_layers(
        pool: Pool, show: dict[str, Player]) -> None:
    assert len({pool.placement(channel)["node"] for channel in CHANNELS}) == 2
    for channel, (_color, bgr) in CHANNELS.items():
        assert close_to(show[channel].pixel(160, 90), bgr), channel
        assert show[channel].info is not None and show[channel].info.width == 320


def test_a_crash_of_one_channel_process_blinks_only_that_channel(
        pool: Pool, show: dict[str, Player]) -> None:
    victim = "sport"
    node = pool.node_of(victim)
    child = pool.nodes.child_pid(node, victim)
    judged_from = steady(show)
    killed = time.monotonic()
    os.kill(child, signal.SIGKILL)
    back = wait_resumed(show[victim], killed, 10)
    assert back <= 3.0
    wait_for_colour(show[victim], CHANNELS[victim][1], 5)
    assert pool.nodes.child_pid(node, victim) != child
    for channel in CHANNELS.keys() - {victim}:
        assert_unbroken(show[channel], judged_from, time.monotonic())


def test_kill_9_of_a_node_puts_its_channels_on_air_elsewhere_within_5_s(
        pool: Pool, show: dict[str, Player]) -> None:
    node_ids = {channel: pool.placement(channel)["node"] for channel in CHANNELS}
    # The node holding the most channels (two of the three), killed with its processes.
    victim_id = Counter(node_ids.values()).most_common(1)[0][0]
    victim = next(node for node in pool.alive() if pool.nodes.node_id(node) == victim_id)
    moved = [channel for channel, node in node_ids.items() if node == victim_id]
    stayed = [channel for channel in CHANNELS if channel not in moved]
    judged_from = steady(show)
    killed = time.monotonic()
    pool.nodes.kill(victim)
    for channel in moved:
        assert wait_resumed(show[channel], killed, 10) <= 5.0, channel
        wait_for_colour(show[channel], CHANNELS[channel][1], 5)
        assert pool.placement(channel)["node"] not in (None, victim_id)
    for channel in stayed:
        assert_unbroken(show[channel], judged_from, time.monotonic())
    pool.ensure(2)  # a spare for what follows


def test_a_node_frozen_past_its_lease_never_publishes_again(
        pool: Pool, show: dict[str, Player]) -> None:
    pool.ensure(2)
    victim, victim_id, moved = pool.holder("news")
    frozen = time.monotonic()
    pool.nodes.freeze(victim)
    try:
        # The successor is let in once nginx dropped the frozen publisher (idle for 5 s).
        for channel in moved:
            wait_resumed(show[channel], frozen, 40)
            wait_for_colour(show[channel], CHANNELS[channel][1], 5)
        successors = {channel: pool.placement(channel)["node"] for channel in moved}
        assert victim_id not in successors.values()
    finally:
        thawed = time.monotonic()
        pool.nodes.thaw(victim)
    # The window watched: the thawed node runs again (its record is fresh) while its channels'
    # streams go on from their successors, untouched.
    wait_until(lambda: pool.node_state(victim_id) == "up", 5, "the node up again")
    holds_for(lambda: all(pool.publishes.calls(channel, since=thawed) == []
                          for channel in moved), 3, "no publish after the thaw")
    for channel in moved:
        assert pool.placement(channel)["node"] == successors[channel]
        assert_unbroken(show[channel], thawed, time.monotonic())
        assert len(show[channel].frames_since(thawed)) >= 0.9 * FPS * 3
    assert victim.running


def test_a_draining_node_hands_its_channels_over_one_at_a_time_and_exits(
        pool: Pool, show: dict[str, Player]) -> None:
    pool.ensure(2)
    victim, victim_id, moved = pool.holder("news")
    steady(show)
    signalled = time.monotonic()
    os.kill(pool.nodes.pid(victim), signal.SIGTERM)
    assert victim.popen is not None and victim.popen.wait(20) == 0
    for channel in moved:
        wait_resumed(show[channel], signalled, 10)
        assert blink(show[channel], signalled) <= 3.0, channel
        wait_for_colour(show[channel], CHANNELS[channel][1], 5)
        assert pool.placement(channel)["node"] not in (None, victim_id)
    # One at a time: each placed elsewhere only once the previous one's new node held its
    # lease (its old process had closed its stream and let go first), not in one round.
    since = sorted(pool.placement(channel)["since"] for channel in moved)
    assert all(later - earlier >= 100 for earlier, later in zip(since, since[1:], strict=False))
    assert pool.node_state(victim_id) is None  # its record went with it
