"""A render node: registers itself, runs one process per channel, and places channels.

`python -m render` is a node. Every NODE_BEAT seconds its main thread reads the placements,
keeps one child process (`python -m render.channel --channel <id> --node <node id>`) per
channel that has a placement (the leader of a channel placed here, a warm follower of every
other: it takes over without a process start), restarts a child that died at once (after a
crash loop with a growing delay), and writes the node's record (capacity, load, the channels
placed here, draining). Its placer thread (render.placer) places channels while this node
holds the placer lock.

Children are started by the main thread with PR_SET_PDEATHSIG=SIGKILL (the kernel sends it
when the thread that forked the child ends), in the node's process group, so `kill -9` of
the node takes them with it and freezing the group freezes them too.

SIGTERM or SIGINT drains: the record says draining, the placer hands this node's channels
to others one at a time, and the node exits once it holds none, after DRAIN_TIMEOUT, or at
once when no other node could take them (no other alive node that is not draining). A
second signal exits at once. Exiting stops every child with SIGTERM (each closes its stream
with its trailers and releases its lease) and removes the node's record.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import redis
from prometheus_client import CollectorRegistry, start_http_server

from core.config import Settings
from core.keys import Keys
from core.loop import REDIS_OUTAGE, OutageLog
from core.store.migrate import migrate_to_channels
from core.store.placement import NODE_BEAT, Placement, PlacementStore
from render.backoff import Backoff
from render.node_metrics import NodeCollector
from render.placer import Placer

log = logging.getLogger(__name__)

# How long a draining node waits for its channels to be handed over before it exits anyway.
DRAIN_TIMEOUT = 30.0
# How long a child may take to close its stream on SIGTERM before it is killed.
CHILD_STOP_TIMEOUT = 15.0
# A child that dies is restarted at once; one that died again within this long of its start
# is in a crash loop and waits a growing delay (Backoff) first.
CHILD_HEALTHY_SECONDS = 5.0
# Children's metrics ports (from their render heartbeats) are read once every this many beats.
PORT_READ_BEATS = 4
PR_SET_PDEATHSIG = 1


def new_node_id() -> str:
    """host-pid-random: readable in GET /nodes and in a lease token, unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def _die_with_parent() -> Any:
    """A preexec_fn: the child gets SIGKILL when the thread that forked it ends (and exits at
    once if that already happened). libc is looked up here, before any fork."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass
class Child:
    """The process of one channel."""

    channel: str
    popen: subprocess.Popen[bytes]
    started: float
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=30.0))
    # When a dead child may be started again (monotonic); None while it runs.
    restart_at: float | None = None
    metrics_port: int | None = None
    stopping: bool = False
    # Deaths in a row, each within CHILD_HEALTHY_SECONDS of its start.
    quick_deaths: int = 0

    @property
    def running(self) -> bool:
        """Whether the process has not exited."""
        return self.popen.poll() is None


class Node:
    """One render node: its children, its record, and the placer thread."""

    def __init__(self, settings: Settings, client: redis.Redis, metrics_port: int | None = None,
                 node_id: str | None = None) -> None:
        self.settings = settings
        self.redis = client
        self.id = node_id or new_node_id()
        self.keys = Keys(settings.redis_prefix)
        self.capacity = settings.node_capacity
        self.metrics_port = metrics_port
        # The node's own metrics; helper collectors (the children's, merged) register here.
        self.registry = CollectorRegistry()
        self.registry.register(NodeCollector.of(self))
        self.store = PlacementStore(client, self.keys)
        self.placer = Placer(client, self.keys, self.id, settings)
        self.children: dict[str, Child] = {}
        self.draining = False
        self._drain_started: float | None = None
        self._exit_now = False
        self._wake = threading.Event()
        self._placements: dict[str, Placement] = {}
        self._beats = 0
        self._outage = OutageLog(log, "cannot reach Redis for the node record (%s); "
                                 "children go on", back="Redis reachable again for the node")
        self._preexec = _die_with_parent()

    def serve_metrics(self, host: str) -> None:
        """Serve the node's registry on `metrics_port`; a port in use is logged, not fatal."""
        if self.metrics_port is None:
            return
        try:
            start_http_server(self.metrics_port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("metrics: cannot listen on port %d: %s", self.metrics_port, exc)
        else:
            log.info("node metrics on %s port %d (/metrics)", host, self.metrics_port)

    # ---- signals (the handlers only set flags; the main loop acts) ------------------------

    def drain(self) -> None:
        """Hand the channels over and exit (SIGTERM/SIGINT); a second call exits at once."""
        if self.draining:
            self._exit_now = True
        self.draining = True
        self._wake.set()

    def child_exited(self) -> None:
        """SIGCHLD: look at the children now rather than at the next beat."""
        self._wake.set()

    # ---- the main loop --------------------------------------------------------------------

    def run(self) -> None:
        """Run until drained; then stop the children and leave."""
        self._migrate()
        # The record first: a placer lock held by a node without a record is taken from it.
        self._beat()
        self.placer.start()
        log.info("render node %s started (capacity %.2f)", self.id, self.capacity)
        try:
            while not self._done():
                self._beat()
                self._wake.wait(NODE_BEAT)
                self._wake.clear()
        finally:
            self.placer.stop()
            self._stop_children()
            try:
                self.store.remove_node(self.id)
            except redis.RedisError as exc:
                log.warning("could not remove the node record (%s); it goes lost", exc)
            log.info("render node %s stopped", self.id)

    def _migrate(self) -> None:
        """Move a deployment from before channels into channel default (once; retried while
        Redis is unreachable)."""
        while True:
            try:
                migrate_to_channels(self.redis, self.keys)
                return
            except REDIS_OUTAGE as exc:
                self._outage.failed(exc)
            if self._exit_now or self.draining:
                raise SystemExit(0)
            time.sleep(1.0)

    def _beat(self) -> None:
        try:
            self._placements = self.store.placements()
            self._outage.succeeded()
        except REDIS_OUTAGE as exc:
            # The children go on as they are: each holds its channel by its own lease.
            self._outage.failed(exc)
        self._reconcile()
        self._beats += 1
        try:
            if self._beats % PORT_READ_BEATS == 1:
                self._read_child_ports()
            self.store.write_node(self.record())
        except REDIS_OUTAGE as exc:
            self._outage.failed(exc)

    def _reconcile(self) -> None:
        """One child per channel with a placement; a dead one restarted."""
        now = time.monotonic()
        for channel, child in list(self.children.items()):
            if channel not in self._placements and not child.stopping:
                log.info("channel %s is gone: stopping its process", channel)
                child.stopping = True
                child.popen.send_signal(signal.SIGTERM)
            if child.stopping and not child.running:
                del self.children[channel]
        for channel in sorted(self._placements):
            existing = self.children.get(channel)
            if existing is None:
                self.children[channel] = self._spawn(channel, None)
            elif not existing.running and not existing.stopping:
                self._restart(existing, now)

    def _restart(self, child: Child, now: float) -> None:
        if child.restart_at is None:
            code = child.popen.returncode
            lived = now - child.started
            if lived >= CHILD_HEALTHY_SECONDS:
                child.quick_deaths = 0
                child.backoff.reset()
            else:
                child.quick_deaths += 1
            # The first death is restarted at once; a crash loop waits ever longer.
            child.restart_at = now + (child.backoff.next() if child.quick_deaths > 1 else 0.0)
            log.warning("the process of channel %s exited (%s) after %.1f s: restarting%s",
                        child.channel, _exit_text(code), lived,
                        "" if child.restart_at <= now
                        else f" in {child.restart_at - now:.1f} s")
        if now >= child.restart_at:
            self.children[child.channel] = self._spawn(child.channel, child)

    def _spawn(self, channel: str, previous: Child | None) -> Child:
        """Start a channel's process (from the main thread: see the module's doc)."""
        popen = subprocess.Popen(
            [sys.executable, "-m", "render.channel", "--channel", channel, "--node", self.id],
            preexec_fn=self._preexec, close_fds=True)
        log.info("channel %s: process %d started", channel, popen.pid)
        child = Child(channel, popen, time.monotonic())
        if previous is not None:
            child.backoff, child.quick_deaths = previous.backoff, previous.quick_deaths
        return child

    def _done(self) -> bool:
        if self._exit_now:
            return True
        if not self.draining:
            return False
        now = time.monotonic()
        if self._drain_started is None:
            self._drain_started = now
            log.info("draining: handing %d channel(s) over", len(self.held()))
        if not self.held():
            return True
        if now - self._drain_started >= DRAIN_TIMEOUT:
            log.warning("drained for %.0f s; still holding %s: exiting", DRAIN_TIMEOUT,
                        ", ".join(self.held()))
            return True
        try:
            others = [node for node in self.store.nodes()
                      if node.id != self.id and node.alive and not node.draining]
        except REDIS_OUTAGE:
            # Nothing can be handed over without Redis (Redis stopped with everything, as
            # `supervisorctl restart all` does, or cut off): stop here rather than wait out
            # the drain; the channels' leases expire and other nodes take them.
            log.info("Redis out of reach while draining: stopping %s here",
                     ", ".join(self.held()))
            return True
        if not others:
            log.info("no other render node can take %s: stopping them here",
                     ", ".join(self.held()))
            return True
        return False

    def held(self) -> list[str]:
        """The channels placed on this node, or whose lease one of its children still holds
        (a channel moved away is held until its process let go of it)."""
        placed = {channel for channel, placement in self._placements.items()
                  if placement.placed and placement.node == self.id}
        prefix = f"{self.id}/"
        try:
            pipe = self.redis.pipeline(transaction=False)
            others = sorted(set(self.children) - placed)
            for channel in others:
                pipe.get(self.keys.for_channel(channel).render_lease)
            leases = pipe.execute()
        except REDIS_OUTAGE:
            return sorted(placed)
        return sorted(placed | {channel for channel, holder in zip(others, leases, strict=True)
                                if holder and holder.startswith(prefix)})

    def record(self) -> dict[str, Any]:
        """The node's record as GET /nodes and the placer read it (without `at`). Also read
        by the metrics thread: the children are copied whole (under the GIL) before use, the
        placements are only ever replaced."""
        children = dict(self.children)
        mine = {channel: placement.cost for channel, placement in self._placements.items()
                if placement.placed and placement.node == self.id}
        return {
            "id": self.id, "host": socket.gethostname(), "pid": os.getpid(),
            "capacity": self.capacity, "load": round(float(sum(mine.values())), 6),
            "channels": sorted(mine), "costs": mine, "draining": self.draining,
            "metricsPort": self.metrics_port,
            "children": {channel: {"pid": child.popen.pid, "metricsPort": child.metrics_port}
                         for channel, child in sorted(children.items()) if child.running},
        }

    def _read_child_ports(self) -> None:
        """Each running child's metrics port, from its render heartbeat (matched by pid)."""
        running = [child for child in self.children.values() if child.running]
        pipe = self.redis.pipeline(transaction=False)
        for child in running:
            pipe.hvals(self.keys.for_channel(child.channel).render_heartbeat)
        for child, beats in zip(running, pipe.execute(), strict=True):
            child.metrics_port = _port_of(child.popen.pid, cast(list[str], beats))

    def _stop_children(self) -> None:
        """SIGTERM to every child; wait for them to close their streams; SIGKILL the rest.
        The record is kept up meanwhile, so nobody takes a lease before its stream closed."""
        for child in self.children.values():
            if child.running:
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_TIMEOUT
        while any(child.running for child in self.children.values()):
            if time.monotonic() >= deadline:
                for child in self.children.values():
                    if child.running:
                        log.warning("channel %s: process %d did not stop; killing it",
                                    child.channel, child.popen.pid)
                        child.popen.kill()
                break
            try:
                self.store.write_node(self.record())
            except redis.RedisError:
                pass
            time.sleep(0.1)
        for child in self.children.values():
            child.popen.wait()


def _port_of(pid: int, beats: list[str]) -> int | None:
    for raw in beats:
        try:
            beat = json.loads(raw)
            if int(beat.get("pid", -1)) == pid and beat.get("metricsPort") is not None:
                return int(beat["metricsPort"])
        except (ValueError, TypeError, AttributeError):
            continue
    return None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"
