"""The sources' supervisor thread: starts, feeds, watches and restarts the source processes.

It sleeps on every process's report pipe and exit at once (and on a wake-up pipe the render
thread writes to when it has released slots or asked for a seek), so a frame reaches the
render thread's side as soon as its report arrives. Each round it also runs the watchdog:
a process whose heartbeat deadline has passed is killed and started again, as is one that
died; both with backoff (0.5 s doubling to 10 s, reset after STABLE_AFTER seconds of running).
A file is watched too: replaced in the library, it is played afresh; one that could not be
played (missing, no video, too large) is tried again only once it changes.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from dataclasses import dataclass, field
from multiprocessing import connection
from typing import Any

from core.loop import BackgroundLoop
from render.backoff import Backoff
from render.sources.process import SourceProcess
from render.sources.ring import RingView
from render.sources.source import Source
from render.sources.spec import SourceSpec

log = logging.getLogger(__name__)

# The longest the supervisor sleeps between two rounds: the watchdog's resolution.
ROUND_SECONDS = 0.25
# A process that ran this long before it died counts as having worked: restart quickly.
STABLE_AFTER = 10.0
FILE_CHECK_SECONDS = 1.0


@dataclass(eq=False)
class Tended:
    """The supervisor's bookkeeping for one source."""

    source: Source
    process: SourceProcess | None = None
    start_at: float = 0.0  # when to start the next process (when there is none)
    backoff: Backoff = field(default_factory=lambda: Backoff(0.5, 10.0))
    refused: bool = False  # the process said the file cannot play
    halted: bool = False  # ... and exited: wait for the file to change
    signature: tuple[int, int] | None = None  # the file as its process found it
    checked_at: float = 0.0


class Supervisor(BackgroundLoop):
    """Runs the processes of the sources handed to it through add / restart / remove."""

    def __init__(self) -> None:
        super().__init__("sources")
        # Changes from the render thread, applied at the start of a round (deque: thread-safe).
        self._changes: collections.deque[tuple[str, Source]] = collections.deque()
        self._tended: dict[Source, Tended] = {}
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    # ---- any thread -----------------------------------------------------------------------

    def add(self, source: Source) -> None:
        """Start running `source`."""
        self._changes.append(("add", source))
        self.wake()

    def restart(self, source: Source) -> None:
        """Start `source`'s process again (its spec changed)."""
        self._changes.append(("restart", source))
        self.wake()

    def remove(self, source: Source) -> None:
        """Stop running `source`."""
        self._changes.append(("remove", source))
        self.wake()

    def wake(self) -> None:
        """End the supervisor's sleep now; never blocks."""
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups: it is woken anyway

    def kill_all(self) -> None:
        """After stop(): kill every process and close the wake-up pipe."""
        self._apply_changes(time.monotonic())
        for tended in self._tended.values():
            if tended.process is not None:
                tended.process.kill()
        self._tended.clear()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # ---- the supervisor thread -----------------------------------------------------------

    def step(self) -> float:
        """One round: apply changes, start what is due, sleep until news, handle it."""
        now = time.monotonic()
        self._apply_changes(now)
        for tended in list(self._tended.values()):
            if tended.process is None and not tended.halted and now >= tended.start_at:
                self._start(tended, now)
        waitables: list[Any] = [self._wake_read]
        for tended in self._tended.values():
            if tended.process is not None:
                waitables += tended.process.waitables
        connection.wait(waitables, self._sleep_seconds(now))
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass
        now = time.monotonic()
        for tended in list(self._tended.values()):
            try:
                self._tend(tended, now)
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one source
                log.exception("source %s: supervising failed; starting it again",
                              tended.source.key)
                self._kill_process(tended)
                self._retry(tended, now, "supervising the source process failed")
        return 0.0

    def _apply_changes(self, now: float) -> None:
        while self._changes:
            change, source = self._changes.popleft()
            tended = self._tended.get(source)
            if change == "add":
                self._tended[source] = Tended(source, start_at=now)
            elif tended is not None and change == "remove":
                self._kill_process(tended)
                del self._tended[source]
            elif tended is not None and change == "restart":
                self._kill_process(tended)
                tended.backoff.reset()
                tended.start_at, tended.halted = now, False

    def _sleep_seconds(self, now: float) -> float:
        waiting = [t.start_at - now for t in self._tended.values()
                   if t.process is None and not t.halted]
        return max(0.0, min([ROUND_SECONDS, *waiting]))

    def _start(self, tended: Tended, now: float) -> None:
        source = tended.source
        spec = source.spec
        number = source.started(now)
        tended.refused = False
        tended.signature = _signature(spec)
        tended.checked_at = now
        try:
            tended.process = SourceProcess(source.key, spec, number).start()
        except Exception as exc:  # noqa: BLE001 - the supervisor must outlive any one source
            log.exception("source %s: the source process did not start", source.key)
            self._retry(tended, now, f"the source process did not start: {exc}")

    def _tend(self, tended: Tended, now: float) -> None:
        process = tended.process
        if process is not None:
            self._read(tended, process)
            process.send(tended.source.take_commands())
            if process.exitcode is not None:
                self._ended(tended, process, now)
            elif process.stalled(now):
                self._kill_process(tended)
                self._retry(tended, now, "the source process stopped making progress")
        if tended.source.spec.kind == "file" and now - tended.checked_at >= FILE_CHECK_SECONDS:
            tended.checked_at = now
            if _signature(tended.source.spec) != tended.signature:
                log.info("source %s: the file changed; playing it afresh", tended.source.key)
                self._kill_process(tended)
                tended.backoff.reset()
                tended.start_at, tended.halted = now, False

    def _read(self, tended: Tended, process: SourceProcess) -> None:
        for message in process.reports():
            if message[0] == "ring":
                try:
                    ring = RingView(process.token, *message[1:4])
                except (OSError, ValueError) as exc:
                    log.warning("source %s: ring not mapped: %s", tended.source.key, exc)
                    continue
                tended.source.add_ring(ring)
            elif message[0] != "ready":
                if message[0] == "error":
                    tended.refused = True
                tended.source.receive(message)

    def _ended(self, tended: Tended, process: SourceProcess, now: float) -> None:
        self._read(tended, process)  # the last words, if any
        code = process.exitcode
        self._kill_process(tended)
        if tended.refused and code == 0:
            tended.halted = True  # played again once the file changes
            return
        if now - process.started_at >= STABLE_AFTER:
            tended.backoff.reset()
        self._retry(tended, now, f"the source process exited with code {code}")

    def _retry(self, tended: Tended, now: float, problem: str) -> None:
        delay = tended.backoff.next()
        log.warning("source %s: %s; starting it again in %.1f s", tended.source.key, problem,
                    delay)
        tended.source.failed(problem)
        tended.start_at = now + delay

    def _kill_process(self, tended: Tended) -> None:
        if tended.process is not None:
            tended.process.kill()
            tended.process = None


def _signature(spec: SourceSpec) -> tuple[int, int] | None:
    """A file's (mtime, size), None when missing (or for a live input)."""
    if spec.kind != "file":
        return None
    try:
        stat = os.stat(spec.location)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
