"""The render worker's handle on one source process: start it, talk to it, watch it, kill it.

Only the supervisor thread uses it, except `freed`, the semaphore the render thread posts when
it hands a slot back (render.sources.ring), and `play`, which the render thread calls to write
how far it read the sound. Nothing here waits on the child: reports are read
when the pipe has them, commands go through a non-blocking pipe (a child that stopped reading
gets a backlog, not a blocked supervisor), and kill() is SIGKILL, which always works.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from typing import Any

from render.sources.child import run_source
from render.sources.ring import Heartbeat, ring_name, unlink
from render.sources.spec import SourceSpec

# Source processes are forked by a fork server that has imported what they run (PyAV, NumPy,
# the players) once, so a source starts in milliseconds instead of spending a new
# interpreter's 0.9 s of CPU on imports (a bed track every few minutes, an input reconnecting,
# a video restarting). The server is a process of its own, started clean on first use: the
# render worker itself is never forked, since it runs x264's and other threads and a fork
# could copy a lock one of them holds into the child.
_SPAWN = multiprocessing.get_context("forkserver")
_SPAWN.set_forkserver_preload(["render.sources.child", "render.sources.files",
                               "render.sources.live", "render.sources.audio_files"])
# The child's first deadline: the interpreter starting and importing PyAV and NumPy (about
# 0.3 s of CPU, much longer on a loaded machine).
START_ALLOWANCE = 15.0


class SourceProcess:
    """One spawned `render.sources.child.run_source` and its pipes and shared memory."""

    def __init__(self, key: str, spec: SourceSpec) -> None:
        self.token = f"sm{os.getpid()}_{secrets.token_hex(4)}"
        self.started_at = time.monotonic()
        self.freed = _SPAWN.Semaphore(0)
        self._heartbeat = Heartbeat.create(self.token, self.started_at + START_ALLOWANCE)
        self._named = True  # the heartbeat's name exists until the child has mapped it
        commands_in, self._commands = _SPAWN.Pipe(duplex=False)
        self._reports, reports_out = _SPAWN.Pipe(duplex=False)
        self._process = _SPAWN.Process(
            target=run_source, args=(spec, self.token, commands_in, reports_out, self.freed),
            name=f"source {key}", daemon=True)
        self._child_ends = (commands_in, reports_out)
        self._rings = 0  # rings announced so far
        self._backlog: list[tuple[Any, ...]] = []

    def start(self) -> SourceProcess:
        """Spawn the process (its imports then run in the child, not here)."""
        try:
            self._process.start()
        except BaseException:
            self.kill()
            raise
        finally:
            # Only the child may hold its ends, or its death would not end the pipes.
            for end in self._child_ends:
                end.close()
        os.set_blocking(self._commands.fileno(), False)
        return self

    @property
    def report_fd(self) -> int:
        """Readable when reports arrived (or the child is gone)."""
        return self._reports.fileno()

    @property
    def exitcode(self) -> int | None:
        """None while it runs; then its exit code (negative: killed by that signal)."""
        return self._process.exitcode

    def reports(self) -> tuple[list[tuple[Any, ...]], bool]:
        """The reports that arrived, and whether the pipe has ended (the child is gone)."""
        found: list[tuple[Any, ...]] = []
        try:
            while self._reports.poll(0):
                message = self._reports.recv()
                if not isinstance(message, tuple) or not message:
                    continue
                if message[0] == "ready" and self._named:
                    self._heartbeat.forget_name()
                    self._named = False
                elif message[0] == "ring":
                    self._rings = max(self._rings, int(message[1]) + 1)
                found.append(message)
        except (EOFError, OSError):
            return found, True
        return found, False

    def send(self, commands: list[tuple[Any, ...]]) -> None:
        """Send `commands` after any backlog, as far as the pipe takes them now, and wake the
        child if it waits for a slot."""
        self._backlog += commands
        sent = False
        while self._backlog:
            try:
                # A message this small is one write, which a pipe takes whole or not at all.
                self._commands.send(self._backlog[0])
            except BlockingIOError:
                break
            except (OSError, ValueError):  # the child is gone; its exit is noticed elsewhere
                self._backlog.clear()
                break
            self._backlog.pop(0)
            sent = True
        if sent:
            self.freed.release()

    def stalled(self, now: float) -> bool:
        """True once the child's heartbeat deadline has passed."""
        return now > self._heartbeat.deadline()

    def play(self, seconds: float) -> None:
        """The render thread read the sound up to timeline time `seconds` (a store into the
        heartbeat's shared memory; any thread, also after the process is gone)."""
        self._heartbeat.play(seconds)

    def last_decoded(self) -> float | None:
        """When the child last decoded a frame (time.monotonic())."""
        return self._heartbeat.last_decoded()

    def kill(self, grace: float = 0.0) -> int | None:
        """Kill the process (if it still runs after `grace` seconds), close the pipes and
        remove every name it had in /dev/shm; its exit code."""
        if self._process.pid is not None:
            if grace:
                self._process.join(grace)  # one that is exiting keeps its own exit code
            self._process.kill()
            self._process.join(1.0)
        self._commands.close()
        self._reports.close()
        if self._named:
            self._heartbeat.forget_name()
            self._named = False
        # One more than announced: the child may have died between making a ring and
        # announcing it.
        for number in range(self._rings + 1):
            unlink(ring_name(self.token, number))
        return self._process.exitcode
