"""Channels benchmark: how many 720p30 channels one machine holds, beside FFmpeg; failover.

Part 1, channels per machine. One render node (`python -m render`, RENDER_CAPACITY 100, so
placement never limits it) on a redis-server and an nginx-rtmp of this run's own, a fresh
Redis prefix for every count. The node starts with channel `default` only (stopped: its
process idles, as on any node) and IDLE_SECONDS tell what the node costs with nothing on air.
Then N channels (`bench-1` .. `bench-N`, 1280x720 at 30 fps each) get the reference scene's
layers (bench.scene), one RTMP output to a path of their own on the ingest and a start, through
the store as the worker's tasks write them; the placer places them, the node starts a process
for each, and once every channel's output is live and WARM_UP_SECONDS passed, a window of
--seconds (60) is watched: each channel's render telemetry (frameCount, droppedFrames, output
states: what its stream status shows) between two of its reports. N holds when every channel
dropped 0 frames, counted at least 98% of the window's slots and its output was live at the
end. CPU: the node's process tree over the window, from /proc.

The FFmpeg peer in the same run: ../shared/bench/ffmpeg_peer.sh in encode mode, its FLV file
replaced by FLV on its standard output (checked, so a change to the shared script stops the
benchmark instead of measuring something else), piped into
`ffmpeg -re -i - -c copy -f flv rtmp://...` (a path of its own on the same ingest), which
sends it on in real time; the encoder runs ahead at most by what the pipe and the relay's
input buffer hold. M peers start at once; once every one sends and WARM_UP_SECONDS passed,
the same window is watched and all are stopped at its end. Each relay reports its progress
(`-progress`, every 0.5 s: frames sent so far); a peer's lag at a report is how far its frames
fell behind a 30 fps schedule set by its best moment in the window so far. M holds when no
peer lagged more than PEER_SLACK_SECONDS (1 s: in a 60 s window, 1770 of its 1800 frames at
least) and none ended.

The search, the same for both sides: N = 1 first, then a guess from what that one unit took
(the cores of the machine, less the node's idle cost, over one unit's cores); from a guess
that held, up in growing steps (+1, +2, +4 ...) to the first count that fails, then halving
the interval between; from a guess that failed, down by one to the first that holds. A count
that fails stops at its first failure (a dropped frame, a peer past its slack), so only the
counts that hold cost a whole window. Printed: both counts, and the ratio channels / peers
(goal >= 1, stretch 1.25).

Part 2, failover: two render nodes, one channel (720p30, the reference scene) streaming to the
ingest, a player (tests.support.player) pulling it back and the ingest reporting every publish
(on_publish, tests.support.publish_log). FAILOVER_TRIALS times: kill -9 of the node the channel
is placed on; the time until the ingest let the successor publish, and until the player
decoded the first frame after the gap (judged: goal <= 3 s, p50 and worst). A new node is
started after each trial, and the next waits until it runs a warm follower of the channel, so
there are always two.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.channels [--seconds 60]
        [--part all|capacity|failover] [--trials 5]
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import redis

from bench.outputs import tree_cpu
from bench.scene import SHARED_BENCH, create_scene, make_media
from core.channels import load_new_channel
from core.config import Settings, load_settings
from core.keys import Keys
from core.outputs import load_new_output
from core.redis_client import connect
from core.store import StateStore
from core.store.channels import ChannelStore
from core.store.placement import PlacementStore
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import Process, wait_until
from tests.support.publish_log import PublishLog
from tests.support.redis_server import RedisServer
from tests.support.render_nodes import RenderNodes

FPS = 30
SIZE = (1280, 720)
WARM_UP_SECONDS = 5.0
IDLE_SECONDS = 3.0
# How far behind real time a peer may fall (its pipe and the relay's buffers hide more).
PEER_SLACK_SECONDS = 1.0
# A channel must have counted this share of the window's slots between its two reports.
FRAMES_SHARE = 0.98
GOAL_RATIO, STRETCH_RATIO = 1.0, 1.25
FAILOVER_TRIALS = 5
FAILOVER_GOAL_SECONDS = 3.0
# A pause in the pulled stream this long is the kill's gap, not jitter (frames come in
# batches every 0.1 s).
GAP_SECONDS = 0.4
LIVE_TIMEOUT = 90.0
POLL_SECONDS = 0.25
NODE_ENV = {"RECORD": "off", "RENDER_FPS": str(FPS), "OUTPUT_WIDTH": str(SIZE[0]),
            "OUTPUT_HEIGHT": str(SIZE[1]), "MAX_LAYERS": "64", "REDIS_TIMEOUT": "2"}
# The peer's own output, replaced by FLV on its standard output (see the module's doc).
PEER_FILE_OUTPUT = "-f flv -y ${TMPDIR:-/tmp}/ffmpeg_peer_$$.flv"
PEER_STDOUT = "-f flv -"


@dataclass(frozen=True)
class Trial:
    """One count tried: whether it held, over how long, the cores it used, and what each unit
    did (dropped frames, or a peer's lag)."""

    count: int
    held: bool
    seconds: float
    cores: float  # the whole side: the node and its processes, or every peer
    unit_cores: float  # what one channel or peer took, steady (without start-up or idle)
    idle_cores: float  # what the side takes with nothing on air
    detail: str


@dataclass
class Machine:
    """What every part shares: a folder, the media, a redis-server and an ingest that reports
    its publishers."""

    work: Path
    media: Path
    redis: RedisServer
    ingest: NginxRtmp
    publishes: PublishLog

    def folder(self, prefix: str) -> Path:
        """A folder for one run's logs."""
        folder = self.work / prefix.rstrip(":")
        folder.mkdir(exist_ok=True)
        return folder

    def env(self, prefix: str, **extra: str) -> dict[str, str]:
        """A render node's environment on a Redis prefix of its own."""
        (self.work / "recordings").mkdir(exist_ok=True)
        return {"REDIS_URL": self.redis.url, "REDIS_PREFIX": prefix,
                "MEDIA_ROOT": str(self.media), "RECORDINGS_DIR": str(self.work / "recordings"),
                **NODE_ENV, **extra}


# ---- channels ------------------------------------------------------------------------------


def add_channel(settings: Settings, client: redis.Redis, channel: str, url: str) -> StateStore:
    """A 720p30 channel with the reference scene, an RTMP output to `url`, started; through
    the store as the worker's tasks write them. Its store."""
    keys = Keys(settings.redis_prefix)
    outcome = ChannelStore(client, keys, settings).create(f"bench-{channel}", load_new_channel(
        {"id": channel, "name": channel,
         "output": {"width": SIZE[0], "height": SIZE[1], "fps": FPS}}))
    store = StateStore.from_settings(settings, client, channel=channel)
    create_scene(store)
    outputs = store.outputs.create(f"bench-{channel}-output", load_new_output(
        {"kind": "rtmp", "name": "ingest", "url": url}))
    started = store.set_stream_state(f"bench-{channel}-start", "start")
    for step, done in (("create", outcome), ("output", outputs), ("start", started)):
        if done.status not in (200, 201):
            raise SystemExit(f"bench.channels: {channel} {step}: {done.status} {done.body}")
    return store


def outputs_live(report: dict[str, Any]) -> bool:
    """Whether a telemetry report shows every output live (and at least one)."""
    states = [output["state"] for output in report["outputs"]]
    return bool(states) and all(state == "live" for state in states)


def fresh_reports(stores: dict[str, StateStore], timeout: float = 10.0
                  ) -> dict[str, tuple[float, dict[str, Any]]]:
    """Each channel's telemetry as its next report rewrites it, and when (time.monotonic):
    counts are only as fresh as the last report, so windows run between reports."""
    before = {channel: store.live.telemetry()["frameCount"] for channel, store in stores.items()}
    found: dict[str, tuple[float, dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(stores) and time.monotonic() < deadline:
        for channel, store in stores.items():
            if channel not in found:
                report = store.live.telemetry()
                if report["frameCount"] != before[channel]:
                    found[channel] = (time.monotonic(), report)
        time.sleep(0.01)
    if len(found) < len(stores):
        raise TimeoutError(f"no telemetry report from {sorted(stores.keys() - found.keys())}")
    return found


def run_channels(machine: Machine, count: int, *, seconds: float) -> Trial:
    """`count` channels on one node, watched for `seconds` (see the module's doc)."""
    prefix = f"benchch{count}-{secrets.token_hex(2)}:"
    env = machine.env(prefix, RENDER_CAPACITY="100")
    settings = load_settings(env)
    client = connect(settings)
    nodes = RenderNodes(env, machine.folder(prefix), client)
    node = nodes.start_node()
    pid = RenderNodes.pid(node)
    try:
        # What the node costs with no channel on air (itself and channel default's process).
        default = StateStore.from_settings(settings, client)
        wait_until(default.live.render_instances, LIVE_TIMEOUT, "channel default's process")
        idle_before, idle_started = tree_cpu(pid), time.monotonic()
        time.sleep(IDLE_SECONDS)  # the idle node's window
        idle = cores_used(idle_before, tree_cpu(pid), time.monotonic() - idle_started)
        stores = {f"bench-{n}": add_channel(settings, client, f"bench-{n}",
                                            machine.ingest.url(f"{prefix[:-1]}-{n}"))
                  for n in range(1, count + 1)}
        try:
            wait_until(lambda: all(outputs_live(store.live.telemetry())
                                   for store in stores.values()), LIVE_TIMEOUT,
                       f"{count} channels live")
        except TimeoutError as exc:
            raise SystemExit(f"bench.channels: {exc}\n{node.tail()}\n{machine.ingest.log()}"
                             ) from None
        time.sleep(WARM_UP_SECONDS)  # past the outputs' set-up, before measuring
        first = fresh_reports(stores)
        cpu_before, started = tree_cpu(pid), time.monotonic()
        failure = None
        while failure is None and time.monotonic() < started + seconds:
            time.sleep(POLL_SECONDS)  # the window itself, watched for a first drop
            failure = channels_failure(stores, first, node)
        ended = time.monotonic()
        cores = cores_used(cpu_before, tree_cpu(pid), ended - started)
        last = fresh_reports(stores) if failure is None else {
            channel: (ended, store.live.telemetry()) for channel, store in stores.items()}
    finally:
        nodes.stop_all()
        client.close()
    parts, held = [], failure is None
    for channel in stores:
        (t0, a), (t1, b) = first[channel], last[channel]
        frames, dropped = b["frameCount"] - a["frameCount"], b["droppedFrames"] - a["droppedFrames"]
        short = not failure and frames < FRAMES_SHARE * FPS * (t1 - t0)
        held = held and not dropped and not short and outputs_live(b)
        parts.append(f"{dropped}" + ("" if outputs_live(b) else " (not live)")
                     + (f" ({frames} frames in {t1 - t0:.1f} s)" if short else ""))
    detail = (f"node idle {idle:.2f} cores; dropped " + "/".join(parts)
              + (f"; stopped: {failure}" if failure else ""))
    return Trial(count, held, ended - started, cores, (cores - idle) / count, idle, detail)


def cores_used(before: dict[int, float], after: dict[int, float], seconds: float) -> float:
    """Cores a process tree used between two tree_cpu readings `seconds` apart (a process
    that started in between counts from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()) / seconds


def channels_failure(stores: dict[str, StateStore],
                     first: dict[str, tuple[float, dict[str, Any]]], node: Process) -> str | None:
    """Why the window has already failed (a dropped frame, a restarted channel, a dead node),
    or None."""
    if not node.running:
        return "the node exited"
    for channel, store in stores.items():
        report, start = store.live.telemetry(), first[channel][1]
        if report["frameCount"] < start["frameCount"]:
            return f"{channel} restarted"
        if report["droppedFrames"] > start["droppedFrames"]:
            return f"{channel} dropped a frame"
    return None


# ---- FFmpeg peers ---------------------------------------------------------------------------


def peer_script() -> str:
    """ffmpeg_peer.sh with its FLV file replaced by FLV on its standard output."""
    script = (SHARED_BENCH / "ffmpeg_peer.sh").read_text()
    if script.count(PEER_FILE_OUTPUT) != 1:
        raise SystemExit("bench.channels: ffmpeg_peer.sh no longer writes "
                         f"{PEER_FILE_OUTPUT!r} once; update bench/channels.py")
    return script.replace(PEER_FILE_OUTPUT, PEER_STDOUT)


class Peer:
    """One FFmpeg peer piped into a real-time relay to the ingest, its progress recorded."""

    def __init__(self, script: str, media: Path, frames: int, url: str, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log: IO[bytes] = open(folder / "peer.log", "ab")  # noqa: SIM115 - closed in stop
        self.encoder = subprocess.Popen(
            ["sh", "-c", script, "ffmpeg_peer.sh", str(media), str(frames), "encode"],
            stdout=subprocess.PIPE, stderr=self.log, cwd=folder, start_new_session=True)
        assert self.encoder.stdout is not None
        self.relay = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", "-",
             "-c", "copy", "-f", "flv", "-progress", "pipe:1", "-stats_period", "0.5", url],
            stdin=self.encoder.stdout, stdout=subprocess.PIPE, stderr=self.log, cwd=folder)
        self.encoder.stdout.close()  # the relay holds the pipe now
        self.folder = folder
        self.progress: list[tuple[float, int]] = []  # (time.monotonic, frames sent)
        self._reader = threading.Thread(target=self._read, name="peer-progress", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.relay.stdout is not None
        frame = 0
        for line in self.relay.stdout:
            key, _, value = line.decode(errors="replace").strip().partition("=")
            if key == "frame":
                frame = int(value)
            elif key == "progress":
                self.progress.append((time.monotonic(), frame))

    def lag(self, since: float, until: float = math.inf) -> float:
        """The most its frames fell behind a 30 fps schedule from its best moment, between
        `since` and `until` (time.monotonic; reports come every 0.5 s)."""
        best, worst = math.inf, 0.0
        for at, frames in self.progress:
            if since <= at <= until:
                behind = at - frames / FPS  # when frame 0 would have had to go out
                best = min(best, behind)
                worst = max(worst, behind - best)
        return worst

    def sent(self, since: float, until: float) -> int:
        """Frames sent between the first and the last report from `since` to `until`."""
        reports = [frames for at, frames in self.progress if since <= at <= until]
        return reports[-1] - reports[0] if reports else 0

    @property
    def running(self) -> bool:
        """Whether both processes run."""
        return self.encoder.poll() is None and self.relay.poll() is None

    def cpu(self) -> dict[int, float]:
        """CPU seconds so far of its processes (the shell, its ffmpeg, the relay)."""
        return {**tree_cpu(self.encoder.pid), **tree_cpu(self.relay.pid)}

    def stop(self) -> None:
        """Both, now (the encoder is a shell: its group, with its ffmpeg), reaped."""
        if self.encoder.poll() is None:
            os.killpg(self.encoder.pid, signal.SIGKILL)
        if self.relay.poll() is None:
            self.relay.kill()
        self.encoder.wait(10)
        self.relay.wait(10)
        self._reader.join(5)
        self.log.close()

    def tail(self) -> str:
        """The end of both processes' errors."""
        return "\n".join((self.folder / "peer.log").read_text(errors="replace").splitlines()[-20:])


def run_peers(machine: Machine, count: int, *, seconds: float) -> Trial:
    """`count` peers at once, watched for `seconds` once all of them send (as the channels:
    after WARM_UP_SECONDS) and stopped at the end of it."""
    label, script = secrets.token_hex(2), peer_script()
    frames = round((LIVE_TIMEOUT + WARM_UP_SECONDS + seconds + 30) * FPS)  # never the end
    peers = [Peer(script, machine.media, frames, machine.ingest.url(f"peer{count}-{label}-{n}"),
                  machine.work / f"peer{count}-{label}-{n}") for n in range(count)]
    failure = None
    try:
        try:
            wait_until(lambda: all(peer.progress and peer.progress[-1][1] for peer in peers),
                       LIVE_TIMEOUT, f"{count} peers sending")
        except TimeoutError as exc:
            raise SystemExit(f"bench.channels: {exc}\n{peers[0].tail()}") from None
        time.sleep(WARM_UP_SECONDS)  # as the channels: past the start, before measuring
        cpu_before, started = merged_cpu(peers), time.monotonic()
        while failure is None and time.monotonic() < started + seconds:
            time.sleep(POLL_SECONDS)  # the window itself, watched for a peer past its slack
            failure = peers_failure(peers, started)
        ended = time.monotonic()
        cores = cores_used(cpu_before, merged_cpu(peers), ended - started)
    finally:
        for peer in peers:
            peer.stop()
    lags = [peer.lag(started, ended) for peer in peers]
    held = failure is None and max(lags) <= PEER_SLACK_SECONDS
    detail = ("lag " + "/".join(f"{lag:.2f}" for lag in lags) + " s, sent "
              + "/".join(str(peer.sent(started, ended)) for peer in peers)
              + (f"; stopped: {failure}" if failure else ""))
    return Trial(count, held, ended - started, cores, cores / count, 0.0, detail)


def merged_cpu(peers: list[Peer]) -> dict[int, float]:
    """CPU seconds so far of every process of `peers`."""
    return {pid: cpu for peer in peers for pid, cpu in peer.cpu().items()}


def peers_failure(peers: list[Peer], since: float) -> str | None:
    """Why the window has already failed (a peer past its slack, or one that ended), or
    None."""
    for number, peer in enumerate(peers, 1):
        if not peer.running:
            return f"peer {number} ended:\n{peer.tail()}"
        if peer.lag(since) > PEER_SLACK_SECONDS:
            return f"peer {number} lagged past {PEER_SLACK_SECONDS:g} s"
    return None


# ---- the search ----------------------------------------------------------------------------


def search(name: str, run: Callable[[int], Trial]) -> tuple[int, list[Trial]]:
    """The most units that hold, and every count tried: 1 first; then a guess from what one
    unit took (the machine's cores, less the side's idle cost, over one unit's steady cores);
    from a guess that held, up in growing steps (+1, +2, +4 ...) to the first count that
    fails, then halving the interval; from a guess that failed, down by one (a count that
    fails stops at its first failure, so that is quick) to the first that holds."""
    trials: list[Trial] = []

    def attempt(count: int) -> bool:
        trial = run(count)
        trials.append(trial)
        print(f"  {name} x {count}: {'held' if trial.held else 'FAILED'} over "
              f"{trial.seconds:.1f} s, {trial.cores:.2f} cores ({trial.unit_cores:.3f} each); "
              f"{trial.detail}", flush=True)
        return trial.held

    if not attempt(1):
        return 0, trials
    one = trials[0]
    room = len(os.sched_getaffinity(0)) - one.idle_cores
    guess = max(2, math.floor(room / max(one.unit_cores, 0.01)))
    if not attempt(guess):
        for count in range(guess - 1, 1, -1):
            if attempt(count):
                return count, trials
        return 1, trials
    held, failed, step = guess, 0, 1
    while not failed:
        if attempt(held + step):
            held, step = held + step, step * 2
        else:
            failed = held + step
    while failed - held > 1:
        middle = (held + failed) // 2
        if attempt(middle):
            held = middle
        else:
            failed = middle
    return held, trials


# ---- failover ------------------------------------------------------------------------------


def resumed(player: Player, since: float) -> float | None:
    """When the pulled stream came back after the gap that began after `since`: the arrival
    of the first frame after a pause of GAP_SECONDS or more (None while it has not)."""
    frames = player.frames_since(since - 2 * GAP_SECONDS)
    for earlier, later in zip(frames, frames[1:], strict=False):
        if later.arrival > since and later.arrival - earlier.arrival >= GAP_SECONDS:
            return later.arrival
    return None


def run_failover(machine: Machine, trials: int) -> list[tuple[float, float]]:
    """(seconds to the successor's publish at the ingest, seconds to the first frame pulled
    after the gap) for each kill -9 of the node holding the channel."""
    prefix, channel = f"benchfo-{secrets.token_hex(2)}:", "failover"
    env = machine.env(prefix)
    settings = load_settings(env)
    client = connect(settings)
    path = f"{prefix[:-1]}-{channel}"
    store = add_channel(settings, client, channel, machine.ingest.url(path))
    placements = PlacementStore(client, Keys(settings.redis_prefix))
    nodes = RenderNodes(env, machine.folder(prefix), client)
    player = Player(machine.ingest.url(path)).start()
    results = []
    try:
        for _ in range(2):
            nodes.start_node()
        for trial in range(1, trials + 1):
            holder = wait_until(lambda: standing(placements, store, channel, nodes), 60,
                                "the channel held, with a warm follower on the other node")
            player.wait_for_frames(2 * FPS, timeout=30, since=time.monotonic())  # on air
            published, back = kill_and_time(machine, nodes, holder, player, path)
            results.append((published, back))
            print(f"  trial {trial}: publish at the ingest {published:.2f} s, "
                  f"first frame pulled {back:.2f} s after the kill", flush=True)
            holder.stop(signum=signal.SIGKILL)  # what is left of its group
            nodes.start_node()
    finally:
        player.close()
        nodes.stop_all()
        client.close()
    return results


def kill_and_time(machine: Machine, nodes: RenderNodes, holder: Process, player: Player,
                  path: str) -> tuple[float, float]:
    """kill -9 of `holder`; seconds until the ingest let the successor publish on `path`, and
    until the player decoded the first frame after the gap."""
    killed = time.monotonic()
    nodes.kill(holder)
    back = wait_until(lambda: resumed(player, killed), 30, "the stream back")
    published = wait_until(lambda: [call for call in machine.publishes.calls(path, killed)
                                    if call.call == "publish"], 5, "the successor's publish")
    return published[0].at - killed, back - killed


def standing(placements: PlacementStore, store: StateStore, channel: str,
             nodes: RenderNodes) -> Process | None:
    """The node process holding the channel, once two nodes run and the other one's process
    of the channel stands by (None until then)."""
    alive = [node for node in nodes.started if node.running]
    placement = placements.placement(channel)
    if len(alive) < 2 or placement is None or not placement.placed:
        return None
    # Newest last, so each node's newest heartbeat entry is the one kept.
    roles = {entry.get("node"): entry["role"]
             for entry in reversed(store.live.render_instances())}
    ids = {nodes.node_id(node): node for node in alive}
    holder = ids.get(placement.node or "")
    others = [node_id for node_id in ids if node_id != placement.node]
    if holder is None or roles.get(placement.node) != "active" or \
            any(roles.get(node_id) != "standby" for node_id in others):
        return None
    return holder


# ---- report --------------------------------------------------------------------------------


def report_capacity(channels: tuple[int, list[Trial]], peers: tuple[int, list[Trial]],
                    seconds: float) -> None:
    """Both counts side by side (with the cores each unit took at the count that held, and
    the count that failed above it) and the ratio."""
    print(f"\n1280x720 at {FPS} fps, the reference scene, {seconds:g} s windows, "
          f"{len(os.sched_getaffinity(0))} cores")
    print(f"{'':>9} {'held':>5} {'cores each':>10} {'cores':>6} {'failed':>6}")
    for name, (count, trials) in (("channels", channels), ("peers", peers)):
        held = next((trial for trial in trials if trial.held and trial.count == count), None)
        failed = min((trial.count for trial in trials if not trial.held), default=None)
        print(f"{name:>9} {count:>5} {held.unit_cores if held else math.nan:>10.3f} "
              f"{held.cores if held else math.nan:>6.2f} {failed or '-':>6}")
    ratio = channels[0] / peers[0] if peers[0] else math.inf
    verdict = "stretch met" if ratio >= STRETCH_RATIO else "met" if ratio >= GOAL_RATIO \
        else "MISSED"
    print(f"channels / peers = {ratio:.2f}; goal >= {GOAL_RATIO:g} (stretch "
          f"{STRETCH_RATIO:g}): {verdict}")


def report_failover(results: list[tuple[float, float]]) -> None:
    """p50 and worst of both measures, and the goal."""
    publish = [first for first, _ in results]
    pulled = [second for _, second in results]
    print(f"\nfailover after kill -9 of the node holding the channel, {len(results)} trials")
    for name, figures in (("publish at the ingest", publish), ("first frame pulled", pulled)):
        print(f"  {name}: p50 {statistics.median(figures):.2f} s, worst {max(figures):.2f} s")
    met = max(pulled) <= FAILOVER_GOAL_SECONDS
    print(f"goal: back on air within {FAILOVER_GOAL_SECONDS:g} s (first frame pulled, worst): "
          f"{'met' if met else 'MISSED'}")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="each count's window (shorter for a smoke run)")
    parser.add_argument("--part", choices=("all", "channels", "peers", "failover"),
                        default="all", help="one part alone (channels or peers: no ratio)")
    parser.add_argument("--trials", type=int, default=FAILOVER_TRIALS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as folder:
        work = Path(folder)
        media = work / "media"
        media.mkdir()
        make_media(media)
        publishes = PublishLog().start()
        server = RedisServer(work / "redis").start()
        ingest = NginxRtmp(work / "nginx", notify_url=publishes.url).start()
        machine = Machine(work, media, server, ingest, publishes)
        try:
            found = {}
            for side, run in (("channels", run_channels), ("peers", run_peers)):
                if args.part in ("all", side):
                    print(f"{side}, {args.seconds:g} s windows:", flush=True)
                    found[side] = search(side, functools.partial(run, machine,
                                                                 seconds=args.seconds))
            if len(found) == 2:
                report_capacity(found["channels"], found["peers"], args.seconds)
            if args.part in ("all", "failover"):
                print("failover:", flush=True)
                report_failover(run_failover(machine, args.trials))
        finally:
            ingest.stop()
            server.stop()
            publishes.stop()


if __name__ == "__main__":
    main()
