"""One output: a sender process kept alive by a supervisor thread, reconnecting on its own.

States: connecting -> live -> reconnecting -> live ... ; stopped (closed). After
`failed_after` attempts in a row that never went live, the state reads failed: the operator
should look (wrong key, ingest gone), while it keeps retrying at the capped backoff, since a
24/7 stream must heal by itself once the ingest is back.

A recording's sender starts a new file per segment and says so; the destination then deletes
that output's oldest files beyond `keep_segments`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.outputs import OutputTarget
from render.backoff import Backoff
from render.encoder import StreamInfo
from render.outputs.meter import RateMeter
from render.outputs.packets import Batch, PacketQueue
from render.outputs.segments import prune
from render.outputs.session import SenderSession

log = logging.getLogger(__name__)

CONNECTING, LIVE, RECONNECTING, FAILED, STOPPED = (
    "connecting", "live", "reconnecting", "failed", "stopped")
# A connection that stayed up this long was a success: the next failure retries quickly.
STABLE_AFTER = 10.0


class Destination:
    """Streams the batches given to `send` to one target, whatever the other targets do.

    `send` only appends to a bounded in-memory queue; the sender process does the I/O. A
    sender that has not connected `connect_timeout` seconds after its first packet, or has
    written nothing for `stall_timeout` seconds while packets wait, is killed and replaced;
    the new one starts at the newest keyframe.

    `deadline()` is the render lease's deadline (time.monotonic): what reaches the sender
    past it is never written (render.outputs.packets).
    """

    def __init__(self, target: OutputTarget, stream: StreamInfo, *, stall_timeout: float = 5.0,
                 connect_timeout: float = 10.0, max_queue_bytes: int = 32 << 20,
                 backoff: Backoff | None = None, failed_after: int = 5,
                 deadline: Callable[[], float] = lambda: math.inf) -> None:
        self.id = target.id
        self._deadline = deadline
        self.target = target
        self._stream = stream
        self._stall_timeout = stall_timeout
        self._connect_timeout = connect_timeout
        self._backoff = backoff or Backoff()
        self._failed_after = failed_after
        self._failures = 0  # attempts in a row that never went live
        self._queue = PacketQueue(max_queue_bytes)
        self._closing = threading.Event()
        self._close_timeout = 5.0
        self._lock = threading.Lock()
        self._state = STOPPED
        self._error: str | None = None
        self._file: str | None = None
        self._done = {"packets": 0, "bytes": 0}  # from finished sessions
        self._current = {"packets": 0, "bytes": 0, "handled": 0}
        self._reconnects = 0
        self._stale = 0  # packets the sender dropped as past the lease's deadline (fencing)
        self._meter = RateMeter()
        self._since: int | None = None  # epoch ms the state began
        self._live_since: float | None = None
        self._started = threading.Event()  # the first sender process is up
        self._thread = threading.Thread(target=self._supervise, name=f"output {self.name}",
                                        daemon=True)

    def start(self) -> None:
        """Start connecting in the background."""
        self._set_state(CONNECTING)
        self._thread.start()

    def wait_started(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the first sender process to be up (its imports
        done, ready for packets); whether it is."""
        return self._started.wait(timeout)

    def send(self, batch: Batch) -> None:
        """Queue `batch` (one encode call's packets) for the sender; never blocks, never
        raises."""
        try:
            self._queue.put(batch)
        except Exception:  # noqa: BLE001 - an output must never break the render loop
            log.exception("%s: could not queue packets", self.name)

    @property
    def name(self) -> str:
        """The output's name: what logs, states and metric labels show (never a key)."""
        return self.target.name

    def rename(self, name: str) -> None:
        """Show the output under `name` from now on (its next file of a recording too),
        without reconnecting."""
        self.target = replace(self.target, name=name)

    def status(self) -> dict[str, Any]:
        """id, name, state, error (redacted), bitrate (bits/s over the last seconds), since
        (epoch ms the state began), counters, packets waiting and, for a recording, the
        current file."""
        with self._lock:
            return {
                "id": self.id, "name": self.name, "state": self._state, "error": self._error,
                "bitrate": self._meter.bits_per_second() if self._state != STOPPED else 0,
                "since": self._since,
                "packets_sent": self._done["packets"] + self._current["packets"],
                "bytes_sent": self._sent_bytes(),
                "packets_dropped": self._queue.dropped + self._stale,
                "packets_queued": len(self._queue),
                "reconnects": self._reconnects,
                "file": self._file,
            }

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, write the trailer and stop; kill the sender after `timeout`.
        Past the deadline (render.outputs.packets) a network output gets no trailer."""
        self._close_timeout = timeout
        self._closing.set()
        self._queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout + 10)
        self._set_state(STOPPED)

    def _supervise(self) -> None:
        while not self._closing.is_set():
            self._live_since = None
            problem = self._run_session()
            if problem is None:
                break
            if self._live_since and time.monotonic() - self._live_since >= STABLE_AFTER:
                self._backoff.reset()
            self._fail_session(problem)
            self._closing.wait(self._backoff.next())
        self._set_state(STOPPED)

    def _run_session(self) -> str | None:
        """Run one sender until it fails (the reason) or the destination closes (None)."""
        self._queue.restart_at_keyframe()
        session = SenderSession(self.target, self._stream, self._queue, self._deadline).start()
        try:
            return self._watch(session)
        finally:
            session.kill()
            with self._lock:
                for key in ("packets", "bytes"):
                    self._done[key] += self._current[key]
                self._current = {"packets": 0, "bytes": 0, "handled": 0}

    def _watch(self, session: SenderSession) -> str | None:
        error: str | None = None
        connected = False
        last_progress = time.monotonic()
        close_deadline: float | None = None
        while True:
            for report in session.reports(0.1):
                if report[0] == "ready":
                    self._started.set()
                elif report[0] == "connected":
                    connected = True
                    self._failures = 0
                    last_progress = self._live_since = time.monotonic()
                    self._set_state(LIVE)
                elif report[0] == "progress":
                    last_progress = time.monotonic()
                    with self._lock:
                        self._current = dict(zip(("handled", "packets", "bytes"), report[1:],
                                                 strict=True))
                        self._meter.add(self._sent_bytes())
                elif report[0] == "file":
                    self._new_file(report[1])
                elif report[0] == "error":
                    error = report[1]
                elif report[0] == "fenced":
                    self._fenced(report[1])
            now = time.monotonic()
            if not session.alive:
                if self._closing.is_set() and session.exitcode == 0:
                    return None
                return error or f"sender exited with code {session.exitcode}"
            if self._closing.is_set():
                if not connected:
                    return None  # nothing was written, so there is nothing to finish
                close_deadline = close_deadline or now + self._close_timeout
                if now > close_deadline:
                    log.warning("%s: sender did not finish within %.1f s; killed", self.name,
                                self._close_timeout)
                    return None
            elif problem := self._stall(session, connected, last_progress, now):
                return problem

    def _stall(self, session: SenderSession, connected: bool, last_progress: float,
               now: float) -> str | None:
        if not connected:
            if session.first_fed_at and now - session.first_fed_at > self._connect_timeout:
                return f"no answer within {self._connect_timeout:g} s"
            return None
        with self._lock:
            waiting = session.fed > self._current["handled"] or len(self._queue) > 0
        if waiting and now - last_progress > self._stall_timeout:
            return f"no progress for {self._stall_timeout:g} s"
        return None

    def _fail_session(self, problem: str) -> None:
        self._failures += 1
        with self._lock:
            self._error = problem
            self._reconnects += 1
        log.warning("%s: %s; reconnecting", self.name, problem)
        self._set_state(FAILED if self._failures >= self._failed_after else RECONNECTING)

    def _fenced(self, count: int) -> None:
        with self._lock:
            first = self._stale == 0
            self._stale += count
        if first:
            log.warning("%s: packets reached the sender past the render lease's deadline: "
                        "dropped, not sent", self.name)

    def _sent_bytes(self) -> int:
        return self._done["bytes"] + self._current["bytes"]

    def _new_file(self, path: str) -> None:
        with self._lock:
            self._file = path
        target = self.target
        if target.keep_segments is not None:
            prune(Path(target.address), target.name, target.keep_segments, Path(path))

    def _set_state(self, state: str) -> None:
        with self._lock:
            if state == self._state:
                return
            self._state = state
            self._since = int(time.time() * 1000)
            if state == LIVE:
                self._error = None
        log.info("%s: %s", self.name, state)
