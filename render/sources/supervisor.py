"""The sources' supervisor thread: starts, feeds, watches and restarts the source processes.

It sleeps in one epoll on every process's report pipe and on a wake-up pipe (written when the
render thread asks for a seek or the sources change), so a frame reaches the render thread's
inbox as soon as its report arrives. Every ROUND_SECONDS it also runs the watchdog: a process
whose heartbeat deadline has passed is killed and started again, as is one that died; both
with backoff (0.5 s doubling to 10 s, reset after STABLE_AFTER seconds of running). A file is
watched too: replaced in the library, it is played afresh; one that could not be played
(missing, no video, too large) is tried again only once it changes.
"""

from __future__ import annotations

import collections
import logging
import os
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.loop import BackgroundLoop
from render.backoff import Backoff
from render.sources.process import SourceProcess
from render.sources.ring import RingView
from render.sources.source import Source
from render.sources.spec import SourceSpec

log = logging.getLogger(__name__)

# How often the watchdog looks (and the longest the supervisor sleeps).
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
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._next_round = 0.0

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
        """After stop(): kill every process and close the supervisor's own files."""
        self._apply_changes(time.monotonic())
        for tended in self._tended.values():
            self._kill_process(tended)
        self._tended.clear()
        self._selector.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    # ---- the supervisor thread -----------------------------------------------------------

    def step(self) -> float:
        """One wake-up: apply changes, start what is due, then handle what woke it."""
        now = time.monotonic()
        self._apply_changes(now)
        for tended in list(self._tended.values()):
            if tended.process is None and not tended.halted and now >= tended.start_at:
                self._start(tended, now)
        woken = [key.data for key, _ in self._selector.select(self._sleep_seconds(now))]
        now = time.monotonic()
        for tended in woken:
            if tended is None:
                _drain(self._wake_read)
            elif tended.process is not None:
                self._guarded(tended, now, self._read)
        for tended in list(self._tended.values()):
            if tended.process is not None:
                tended.process.send(tended.source.take_requests())
        if now >= self._next_round:
            self._next_round = now + ROUND_SECONDS
            for tended in list(self._tended.values()):
                self._guarded(tended, now, self._check)
        return 0.0

    def _guarded(self, tended: Tended, now: float,
                 work: Callable[[Tended, float], None]) -> None:
        try:
            work(tended, now)
        except Exception:  # noqa: BLE001 - the supervisor must outlive any one source
            log.exception("source %s: supervising failed; starting it again",
                          tended.source.key)
            self._kill_process(tended)
            self._retry(tended, now, "supervising the source process failed")

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
                self._afresh(tended, now)

    def _sleep_seconds(self, now: float) -> float:
        waits = [self._next_round - now]
        waits += [t.start_at - now for t in self._tended.values()
                  if t.process is None and not t.halted]
        return max(0.0, min(waits))

    def _start(self, tended: Tended, now: float) -> None:
        source = tended.source
        spec = source.spec
        tended.refused = False
        tended.signature = _signature(spec)
        tended.checked_at = now
        try:
            process = SourceProcess(source.key, spec)
            source.started(process.last_decoded, process.play)
            tended.process = process.start()
        except Exception as exc:  # noqa: BLE001 - the supervisor must outlive any one source
            log.exception("source %s: the source process did not start", source.key)
            self._retry(tended, now, f"the source process did not start: {exc}")
            return
        self._selector.register(process.report_fd, selectors.EVENT_READ, tended)

    def _read(self, tended: Tended, now: float) -> None:
        process = tended.process
        assert process is not None
        messages, ended = process.reports()
        for message in messages:
            if message[0] == "ring":
                # A ring that cannot be mapped would keep its slots from ever coming back:
                # the error ends this process (see _guarded) and a new one starts.
                number, shape = message[1], tuple(message[2])
                tended.source.add_ring(RingView(process.token, number, shape, process.freed))
            elif message[0] != "ready":
                if message[0] == "error":
                    tended.refused = True
                tended.source.receive(message)
        if ended:
            self._ended(tended, now)

    def _check(self, tended: Tended, now: float) -> None:
        """The watchdog's round: a dead or stalled process, a changed file."""
        process = tended.process
        if process is not None:
            if process.exitcode is not None:
                self._read(tended, now)  # its last words
                if tended.process is process:
                    self._ended(tended, now)
            elif process.stalled(now):
                self._kill_process(tended)
                self._retry(tended, now, "the source process stopped making progress")
        if tended.source.spec.kind == "file" and now - tended.checked_at >= FILE_CHECK_SECONDS:
            tended.checked_at = now
            if _signature(tended.source.spec) != tended.signature:
                log.info("source %s: the file changed; playing it afresh", tended.source.key)
                self._afresh(tended, now)

    def _ended(self, tended: Tended, now: float) -> None:
        process = tended.process
        assert process is not None
        code = self._kill_process(tended, grace=1.0)
        if tended.refused and code == 0:
            tended.halted = True  # played again once the file changes
            return
        if now - process.started_at >= STABLE_AFTER:
            tended.backoff.reset()
        self._retry(tended, now, f"the source process exited with code {code}")

    def _afresh(self, tended: Tended, now: float) -> None:
        """Start the source's process again now (its spec or its file changed)."""
        self._kill_process(tended)
        tended.backoff.reset()
        tended.start_at, tended.halted = now, False

    def _retry(self, tended: Tended, now: float, problem: str) -> None:
        delay = tended.backoff.next()
        log.warning("source %s: %s; starting it again in %.1f s", tended.source.key, problem,
                    delay)
        tended.source.failed(problem)
        tended.start_at = now + delay

    def _kill_process(self, tended: Tended, grace: float = 0.0) -> int | None:
        process, tended.process = tended.process, None
        if process is None:
            return None
        try:
            self._selector.unregister(process.report_fd)
        except (KeyError, ValueError):
            pass
        return process.kill(grace)


def _drain(descriptor: int) -> None:
    try:
        while os.read(descriptor, 4096):
            pass
    except BlockingIOError:
        pass


def _signature(spec: SourceSpec) -> tuple[int, int] | None:
    """A file's (mtime, size), None when missing (or for a live input)."""
    if spec.kind != "file":
        return None
    try:
        stat = os.stat(spec.location)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
