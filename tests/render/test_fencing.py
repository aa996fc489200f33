"""Fencing: a channel process (`python -m render.channel`) publishes only before its lease's
deadline, so once its lease is another's (a takeover overwrote it, or it was frozen past it)
not one more packet of it reaches the ingest. Real Redis, real nginx-rtmp, real processes; the
placement and the successor's lease are written as the placer writes them."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from core.channels import NewChannel
from core.config import Settings
from core.keys import DEFAULT_CHANNEL, Keys
from core.store import StateStore
from core.store.channels import ChannelStore
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import Process, wait_until

ROOT = Path(__file__).resolve().parents[2]
# Small and cheap: what is judged is whether packets arrive, not what they show.
OUTPUT = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": "30",
          "STATE_UPDATE_DEBOUNCE": "0.5"}
LEASE_TTL = 2.0


@pytest.fixture
def channel_process(base_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path
                    ) -> Iterator[Callable[..., Process]]:
    """Factory: channel_process(channel, node, **env) starts `python -m render.channel` in a
    process group of its own (its sender processes join it); all are stopped at the end."""
    started: list[Process] = []

    def start(channel: str, node: str, **env: str) -> Process:
        log = tmp_path / f"channel-{channel}-{node}.log"
        process = Process([sys.executable, "-m", "render.channel", "--channel", channel,
                           "--node", node], log, env={**os.environ, **base_env, **OUTPUT, **env},
                          cwd=ROOT).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.send(signal.SIGCONT)
        process.stop(timeout=10, signum=signal.SIGTERM)


def place(client: redis.Redis, keys: Keys, node: str, *, takeover: bool = False) -> str:
    """Place the channel of `keys` on `node` with a new epoch, as the placer does; with
    `takeover`, the lease is handed to `node` at once (here for a minute: nobody renews it).
    The new token."""
    epoch = int(client.incr(keys.render_epoch))
    client.hset(keys.placement, keys.channel, json.dumps({
        "state": "placed", "node": node, "epoch": epoch, "since": int(time.time() * 1000),
        "cost": 0.1, "reason": None}))
    token = f"{node}/{epoch}"
    if takeover:
        client.set(keys.render_lease, token, px=60_000)
    return token


def publishes(server: NginxRtmp) -> int:
    """How many publish commands the ingest has received so far (its info log says each)."""
    path = server.workdir / "error.log"
    return path.read_text(errors="replace").count("publish: name=") if path.exists() else 0


def running(pid: int) -> bool:
    """Whether process `pid` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def on_air(settings: Settings, redis_client: redis.Redis, nginx_rtmp: NginxRtmp,
           channel_process: Callable[..., Process], player: Callable[..., Player]
           ) -> tuple[Keys, Process, Player]:
    """Channel default live on node n1, streaming to the ingest; a player sees its frames."""
    keys = Keys(settings.redis_prefix)
    store = StateStore.from_settings(settings, redis_client)
    store.set_stream_state("fence-start", "start")
    place(redis_client, keys, "n1")
    process = channel_process(DEFAULT_CHANNEL, "n1", RTMP_URL=nginx_rtmp.url("fence"))
    viewer = player(nginx_rtmp.url("fence"))
    try:
        viewer.wait_for_frames(15, timeout=20)
    except TimeoutError:
        raise AssertionError(process.tail()) from None
    return keys, process, viewer


def test_a_lease_taken_over_stops_the_stream_within_a_second(
        settings: Settings, redis_client: redis.Redis, nginx_rtmp: NginxRtmp,
        channel_process: Callable[..., Process], player: Callable[..., Player]) -> None:
    keys, process, viewer = on_air(settings, redis_client, nginx_rtmp, channel_process, player)
    place(redis_client, keys, "n2", takeover=True)
    taken = time.monotonic()
    # Watched until well past the second: nothing may arrive after it.
    wait_until(lambda: time.monotonic() > taken + 2.5, 5, "the watch")
    late = viewer.frames_since(taken + 1.0)
    assert not late, f"{len(late)} frames arrived more than 1 s after the takeover"
    assert process.running
    assert redis_client.get(keys.render_lease) == "n2/2"  # never released by the loser


def test_a_drained_channel_closes_its_stream_then_releases_its_lease(
        settings: Settings, redis_client: redis.Redis, nginx_rtmp: NginxRtmp,
        channel_process: Callable[..., Process], player: Callable[..., Player]) -> None:
    """Placed elsewhere without a takeover (a drain), the holder stops streaming and frees the
    lease at once, so its successor need not wait for it to expire."""
    keys, process, viewer = on_air(settings, redis_client, nginx_rtmp, channel_process, player)
    held = redis_client.get(keys.render_lease)
    place(redis_client, keys, "n2")
    moved = time.monotonic()
    wait_until(lambda: redis_client.get(keys.render_lease) is None, 1.5, "the lease released")
    released = time.monotonic() - moved
    wait_until(lambda: time.monotonic() > moved + 2.0, 5, "the watch")
    assert held == "n1/1" and released < 1.0, released
    assert not viewer.frames_since(moved + 1.0)


def test_a_process_frozen_past_its_lease_never_publishes_again(
        settings: Settings, redis_client: redis.Redis, nginx_rtmp: NginxRtmp,
        channel_process: Callable[..., Process], player: Callable[..., Player]) -> None:
    keys, process, viewer = on_air(settings, redis_client, nginx_rtmp, channel_process, player)
    process.send(signal.SIGSTOP)  # the channel process and its senders, as a frozen node
    frozen = time.monotonic()
    place(redis_client, keys, "n2", takeover=True)  # the placer judged its node dead
    published = publishes(nginx_rtmp)
    # Frozen past its lease (its last renewal came before the freeze).
    wait_until(lambda: time.monotonic() > frozen + LEASE_TTL + 0.5, 5, "the freeze")
    process.send(signal.SIGCONT)
    thawed = time.monotonic()
    instances = StateStore.from_settings(settings, redis_client).live.render_instances
    wait_until(lambda: [entry["role"] for entry in instances()] == ["standby"], 5,
               "the thawed process to stand by")
    wait_until(lambda: time.monotonic() > thawed + 2.0, 5, "the watch")
    assert not viewer.frames_since(thawed), "the frozen process published after it resumed"
    assert publishes(nginx_rtmp) == published, "the frozen process connected to the ingest again"
    assert process.running


def test_another_channel_seeds_nothing_and_beats_with_its_node_and_metrics_port(
        settings: Settings, redis_client: redis.Redis, nginx_rtmp: NginxRtmp,
        channel_process: Callable[..., Process]) -> None:
    """RTMP_URL and RECORD seed channel default alone; a channel process's heartbeat names its
    node and the ephemeral port its metrics are on."""
    ChannelStore(redis_client, Keys(settings.redis_prefix), settings).create(
        "fence-news", NewChannel(id="news", name="News"))
    news = Keys(settings.redis_prefix, "news")
    process = channel_process("news", "n1", RTMP_URL=nginx_rtmp.url("news"))
    # The feed seeds before its first full read, which writes the desired state's defaults.
    try:
        wait_until(lambda: redis_client.exists(news.stream), 20, "news' first full read")
    except TimeoutError:
        raise AssertionError(process.tail()) from None
    assert redis_client.hlen(news.outputs) == 0
    assert not redis_client.exists(news.outputs_seeded)
    live = StateStore.from_settings(settings, redis_client, "news").live
    beat = wait_until(live.render_instances, 5, "news' heartbeat")[0]
    assert (beat["role"], beat["node"], beat["sourceCost"]) == ("standby", "n1", 0.0)
    with urllib.request.urlopen(f"http://127.0.0.1:{beat['metricsPort']}/metrics",
                                timeout=5) as response:
        assert b"stream_manager_render_frames_total" in response.read()


def test_a_channel_process_stops_when_its_parent_dies(
        base_env: dict[str, str], settings: Settings, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    """Besides the kernel's PDEATHSIG (which the node sets), the process watches its parent id:
    orphaned, it stops by itself and removes its heartbeat."""
    command = [sys.executable, "-m", "render.channel", "--channel", DEFAULT_CHANNEL,
               "--node", "n1"]
    parent = Process([sys.executable, "-c",
                      f"import subprocess, time; subprocess.Popen({command!r}); time.sleep(60)"],
                     tmp_path / "parent.log", env={**os.environ, **base_env, **OUTPUT},
                     cwd=ROOT).start()
    live = StateStore.from_settings(settings, redis_client).live
    try:
        child = wait_until(live.render_instances, 20, "the channel process's heartbeat")[0]["pid"]
    finally:
        assert parent.popen is not None
        os.kill(parent.popen.pid, signal.SIGKILL)  # the parent alone: the child is orphaned
    try:
        wait_until(lambda: not running(child) and not live.render_instances(), 5,
                   "the orphaned channel process to stop")
    finally:
        parent.stop(signum=signal.SIGKILL)
