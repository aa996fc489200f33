"""The render worker: one thread owns the compositor and the encoder and reconciles the
running pipeline towards the desired state.

Other threads only talk to it through its `inbox` (the feed's snapshots, events and output
targets, the lease keeper's changes), applied between two frames. Modes of the loop:
- streaming (lease held, desired live or paused): a frame per slot at RENDER_FPS and the
  program's sound for it (render.audio.mixer), encoded and sent to every destination (the
  enabled outputs, changed while on air; none is fine); paused sends the frozen last frame
  (with the sound faded out);
- previewing (lease held, stopped, someone watches the preview): compose at PREVIEW_FPS;
- idle: wait for the inbox (and apply deferred layer changes as the wall clock reaches them).

Each frame draws the layers as on air at the slot's instant (render.scene, render.tweens:
deferred changes due by then applied, tweens where they are), through a scene take's fade or
wipe while one runs (render.transition); the mixer hears the same layers.

A Renderer draws one channel (`channel`, default `default`). Built with a `node` (a channel
process, render.channel) it streams while the placement gives its node the channel's lease;
without one, while it holds the free-for-all lease (render.lease). Either way it publishes a
frame only before the lease's deadline (fencing): past it, the stream closes and nothing more
is sent, and every message a sender process gets carries that deadline too.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from typing import Any

import numpy as np
import redis

from core.channels import SOURCE_COST
from core.config import Settings
from core.keys import DEFAULT_CHANNEL
from core.layers import Layer
from core.layers.types.input import INPUT
from core.layers.types.video import VIDEO
from core.lease import Lease
from core.outputs import OutputTarget
from core.redis_client import connect
from core.store import StateStore
from core.store.placement import FOLLOWER_POLL, LEASE_RENEW, ChannelLease
from render.audio.mixer import ProgramAudio
from render.audio.publisher import LevelsPublisher
from render.clock import FrameClock
from render.compositor import Compositor
from render.feed import BLOCK_MS, FeedFollower
from render.inbox import (
    AudioChanged,
    InboxMessage,
    LeaseChanged,
    OutputsChanged,
    SceneEvent,
    Snapshot,
)
from render.lease import TTL_SECONDS, LeaseKeeper
from render.metrics import RenderMetrics, RenderView
from render.pipeline import Pipeline
from render.preview import PreviewPublisher
from render.reporter import Reporter
from render.scene import Scene
from render.stats import FrameStats
from render.transition import TakeTransition

log = logging.getLogger(__name__)

IDLE_WAIT = 0.25
ERROR_TEXT_LIMIT = 500
STREAMING_STATES = ("live", "paused")
# What the telemetry tells of each output (core.store.outputs.with_state merges it by id).
TELEMETRY_OUTPUT_FIELDS = ("id", "name", "state", "error", "bitrate", "since")
# Layers decoded by a source process of their own: each adds SOURCE_COST to the channel's cost.
SOURCED_TYPES = (VIDEO.name, INPUT.name)


def new_instance_id() -> str:
    """host-pid-random: readable in /health, unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class Renderer:
    """Composites the scene at a steady rate and streams it while it holds the lease."""

    def __init__(self, settings: Settings, client: redis.Redis,
                 instance_id: str | None = None, *, channel: str = DEFAULT_CHANNEL,
                 node: str | None = None) -> None:
        self.settings = settings
        self.instance_id = instance_id or new_instance_id()
        self.channel = channel
        self.node = node
        self.store = StateStore.from_settings(settings, client, channel)
        self.inbox: queue.Queue[InboxMessage] = queue.Queue()
        self.scene = Scene()
        self.metrics = RenderMetrics()
        # Composited in I420, the encoder's format: no colour conversion of whole frames.
        self.compositor = Compositor(settings.output_width, settings.output_height,
                                     settings.media_root, on_raster=self.metrics.observe_raster,
                                     frame_format="yuv420p")
        self.audio = ProgramAudio(self.compositor.sources, settings.media_root)
        self.transition = TakeTransition(settings.output_width, settings.output_height,
                                         settings.media_root, self.compositor.sources,
                                         "yuv420p")
        self._levels = LevelsPublisher(self.store.live, lambda: self.audio.levels)
        feed_client = connect(settings, read_timeout=BLOCK_MS / 1000 + settings.redis_timeout)
        feed_store = StateStore.from_settings(settings, feed_client, channel)
        # Only the render worker seeds: the environment it streams by is the one to keep.
        # RTMP_URL and RECORD describe the deployment's one program of old: channel default.
        self._feed = FeedFollower(
            feed_store, self.inbox, settings.recordings_dir.resolve(),
            seed_outputs=(lambda: feed_store.outputs.seed(settings.rtmp_urls,
                                                          settings.record == "on"))
            if channel == DEFAULT_CHANNEL else None)
        self.lease = LeaseKeeper(
            Lease(client, self.store.keys.render_lease, self.instance_id, TTL_SECONDS),
            self.inbox) if node is None else LeaseKeeper(
            ChannelLease(client, self.store.keys, node), self.inbox,
            renew_every=LEASE_RENEW, poll_every=FOLLOWER_POLL)
        self.preview = PreviewPublisher(self.store.live, settings.output_width,
                                        settings.output_height, settings.preview_fps)
        # Where this process serves its metrics, named in its heartbeat (set once serving).
        self.metrics_port: int | None = None
        # What the scene's sources add to the channel's cost (the placer reads it).
        self._source_cost = 0.0
        self._reporter = Reporter(self.store.live, self.instance_id,
                                  settings.state_update_debounce, self._role, self._telemetry,
                                  self._beat_details)
        self._stopping = threading.Event()
        self._held = False
        self._pipeline: Pipeline | None = None
        # The enabled outputs, from the store (None until the feed has read them once).
        self._targets: list[OutputTarget] | None = None
        # The outputs of the last stream once its pipeline is closing or closed ("stopping",
        # then "stopped"), so a stop reads as such instead of as an empty list.
        self._idle_outputs: list[dict[str, Any]] = []
        self._closing = False
        self._clock: FrameClock | None = None
        self._stats = FrameStats()
        self._frame: np.ndarray | None = None
        self._frozen: np.ndarray | None = None
        # Written by the render thread, read whole by the reporter thread.
        self._layer_errors: dict[str, str] = {}
        self._layer_problems: list[str] = []
        self.metrics.watch(self._metrics_view)

    # ---- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        """Run until `stop()`; then close the stream cleanly and hand the lease over."""
        threads = (self._feed, self.lease, self.preview, self._reporter, self._levels)
        for thread in threads:
            thread.start()
        log.info("render instance %s started (%dx%d at %d fps)", self.instance_id,
                 self.settings.output_width, self.settings.output_height,
                 self.settings.render_fps)
        try:
            while not self._stopping.is_set():
                self._step()
        finally:
            # Keep the lease while the trailers are written, so the standby does not publish
            # to the same ingest before this instance has left it; then hand it over at once.
            self._close_pipeline()
            self.compositor.close()
            self.lease.stop()
            self._release_lease()
            self._feed.stop()
            self.preview.stop()
            self._levels.stop()
            self._reporter.stop()

    def stop(self) -> None:
        """Ask the loop to end (safe from a signal handler or another thread)."""
        self._stopping.set()

    # ---- the loop -------------------------------------------------------------------------

    def _step(self) -> None:
        streaming = self._pipeline is not None
        previewing = (self._held and not streaming and self.preview.watched
                      and self.scene.loaded)
        self._read_inbox(wait=0.0 if streaming or previewing else self._idle_wait())
        self._reconcile()
        if self._pipeline is not None or previewing:
            self._render_one()
        else:
            self._clock = None
            self.scene.advance(time.time())

    def _idle_wait(self) -> float:
        """How long an idle loop may wait for the inbox: until a deferred change falls due."""
        due = self.scene.next_due
        return IDLE_WAIT if due is None else min(IDLE_WAIT, max(0.0, due - time.time()))

    def _read_inbox(self, wait: float) -> None:
        try:
            message = self.inbox.get(timeout=wait) if wait else self.inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            self._apply(message)
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                break
        self._source_cost = SOURCE_COST * sum(layer.type in SOURCED_TYPES
                                              for layer in self.scene.layers())

    def _apply(self, message: InboxMessage) -> None:
        was = self.scene.state
        if isinstance(message, Snapshot):
            self.scene.replace(message.desired, message.layers, message.chat)
        elif isinstance(message, SceneEvent):
            self.scene.apply(message.event)
        elif isinstance(message, OutputsChanged):
            self._targets = message.targets
            if self._pipeline is not None:
                self._pipeline.apply(message.targets)
        elif isinstance(message, AudioChanged):
            self.audio.apply(message.settings)
        elif isinstance(message, LeaseChanged):
            self._held = message.held
            if not message.held:
                # Closed (with its trailers while the lease is still ours: a drain) before
                # the lease goes, so the successor does not publish to the same ingest
                # before this process has left it.
                self._close_pipeline()
                self._release_lease()
                # Another instance draws now and pulls the inputs and the bed itself.
                self.transition.end()
                self.compositor.release_sources()
                self.audio.release()
        if self.scene.state == "paused" and was != "paused":
            # Freeze what was on air when the pause arrived, before any later change of the
            # same batch is composited.
            self._frozen = self._frame

    def _reconcile(self) -> None:
        """Bring the pipeline to what the desired state and the lease say."""
        # A stopping instance never starts: a standby told to stop could otherwise take the
        # lease its peer just released and stream (and record) for a frame or two.
        wanted = (self._held and self.scene.state in STREAMING_STATES
                  and self._targets is not None and not self._stopping.is_set()
                  and time.monotonic() < self.lease.deadline)
        if wanted and self._pipeline is None:
            self._open_pipeline()
        elif not wanted and self._pipeline is not None:
            self._close_pipeline()
        if self.scene.state != "paused":
            self._frozen = None

    def _render_one(self) -> None:
        fps = self.settings.render_fps if self._pipeline else self.settings.preview_fps
        if self._clock is None or self._clock.fps != fps:
            self._clock = FrameClock(fps)
        dropped = self._clock.dropped
        slot = self._clock.next_slot()
        started = time.perf_counter()
        # The frame shows the slot's instant (epoch seconds), not the moment the loop woke: so
        # each slot is exactly 1/fps further on, and a video whose frames start near the
        # slots' times does not show one twice and skip the next as the wake-up jitters.
        instant = time.time() + self._clock.due(slot) - time.monotonic()
        self.scene.advance(instant)
        take = self.scene.pop_take()
        if take is not None:
            self.transition.begin(take, self.compositor)
        layers = self.scene.on_air(instant)
        frame = self._compose(layers, instant)
        audio = self.audio.mix(self.transition.heard(layers, instant), slot, fps, instant,
                               silent=self.scene.state == "paused")
        if self._pipeline is not None and time.monotonic() >= self.lease.deadline:
            # Fenced: the lease may be another's by now (this process was frozen, or Redis
            # was out of reach): not one more frame.
            log.warning("the render lease's deadline has passed: stopping the stream")
            self._close_pipeline()
        if self._pipeline is not None:
            self._pipeline.send(frame, slot, audio)
            seconds = time.perf_counter() - started
            self._stats.record(seconds, self._clock.dropped)
            self.metrics.observe_frame(seconds, self._clock.dropped - dropped)
        if slot == 0:
            # The first frame of a clock pays what only it pays (tiles rasterised, the
            # encoder's first keyframe): its timeline starts once that frame is made, so those
            # costs make no slot late.
            self._clock.begin_now()
        now = time.monotonic()
        if self.preview.due(now):
            self.preview.offer(frame, now)

    def _compose(self, layers: list[Layer], now: float) -> np.ndarray:
        if self.scene.state == "paused" and self._frozen is not None:
            return self._frozen
        try:
            frame = self.transition.compose(self.compositor, layers, self.scene.chat, now)
        except Exception:
            # A bug in one layer must not end a 24/7 stream: keep the last good frame.
            log.exception("compositing failed; repeating the previous frame")
            self.metrics.observe_repeat()
            frame = self._frame if self._frame is not None else self._black()
        self._frame = frame
        errors = self.compositor.errors
        if errors != self._layer_errors:
            # Only when the problems change, not every frame (a rename shows with the next).
            names = {layer.id: layer.name for layer in self.scene.layers()}
            self._layer_errors = dict(errors)
            self._layer_problems = [f"layer {names.get(layer_id, layer_id)!r}: {message}"
                                    for layer_id, message in errors.items()]
        if self.scene.state == "paused":
            self._frozen = frame
        return frame

    def _black(self) -> np.ndarray:
        return np.zeros((self.settings.output_height, self.settings.output_width, 3), np.uint8)

    # ---- the pipeline ---------------------------------------------------------------------

    def _open_pipeline(self) -> None:
        self._stats = FrameStats()
        self._clock = None
        self._idle_outputs = []
        self._pipeline = Pipeline(self.settings, self._targets or [], self._deadline)
        self.audio.restart_meter()

    def _close_pipeline(self) -> None:
        pipeline = self._pipeline
        if pipeline is None:
            return
        log.info("stopping the stream")
        self._closing = True
        self._idle_outputs = _outputs_in(pipeline.outputs(), "stopping")
        self._pipeline = None
        try:
            pipeline.close()
        finally:
            self._idle_outputs = _outputs_in(self._idle_outputs, "stopped")
            self._closing = False

    def _deadline(self) -> float:
        return self.lease.deadline

    def _release_lease(self) -> None:
        try:
            self.lease.release()
        except redis.RedisError as exc:
            log.warning("could not release the render lease (%s); it expires by itself", exc)

    # ---- reports (called from the reporter thread and metrics scrapes) ----------------------

    def _metrics_view(self) -> RenderView:
        pipeline = self._pipeline
        return RenderView(
            active=self._held, streaming=pipeline is not None,
            fps=self._stats.window.fps if pipeline is not None else 0.0,
            target_fps=self.settings.render_fps,
            outputs=pipeline.outputs() if pipeline is not None else [],
            raster_seconds=self.compositor.raster_seconds,
            audio=self.audio.levels if self._held else None)

    def _beat_details(self) -> dict[str, Any]:
        return {"node": self.node, "metrics_port": self.metrics_port,
                "source_cost": self._source_cost}

    def _role(self) -> str:
        return "active" if self._held else "standby"

    def _telemetry(self) -> dict[str, Any] | None:
        if not self._held:
            return None
        pipeline, stats = self._pipeline, self._stats
        outputs = pipeline.outputs() if pipeline is not None else self._idle_outputs
        problems = self._layer_problems + [f"output {output['name']}: {output['error']}"
                                           for output in outputs if output.get("error")]
        return {
            # Counts stay readable after a stop, until the next start.
            "fps": stats.window.fps if pipeline is not None else 0.0,
            "frameCount": stats.frame_count,
            "droppedFrames": stats.dropped,
            "averageRenderTime": stats.window.average_render_ms,
            "error": "; ".join(problems)[:ERROR_TEXT_LIMIT] or None,
            "outputs": [{key: output[key] for key in TELEMETRY_OUTPUT_FIELDS}
                        for output in outputs],
            "layerErrors": self._layer_errors,
            "sources": self.compositor.source_states,
            "audio": self.audio.levels,
            # Until the pipeline is closed, a stop is not yet confirmed (the status says so).
            "streaming": pipeline is not None or self._closing,
        }


def _outputs_in(outputs: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The outputs in `state` from now, without errors or bitrate (a stopped output has
    none)."""
    now = int(time.time() * 1000)
    return [{"id": output["id"], "name": output["name"], "state": state, "error": None,
             "bitrate": 0, "since": now} for output in outputs]
