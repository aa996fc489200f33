"""The parent's handle on one sender process: spawn it, feed it, read its reports, kill it."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from typing import Any

from core.outputs import OutputTarget
from render.encoder import StreamInfo
from render.outputs.packets import CLOSE, PacketQueue, pack
from render.outputs.sender import run_sender

# The render process runs x264 threads: forking it could copy a held lock into the child.
_SPAWN = multiprocessing.get_context("spawn")


class SenderSession:
    """One sender process plus the thread that writes queued packets into its pipe.

    Only the feeder thread ever blocks on the pipe; killing the process breaks the pipe and
    frees it.
    """

    def __init__(self, target: OutputTarget, stream: StreamInfo, queue: PacketQueue) -> None:
        self._queue = queue
        self._stopping = threading.Event()
        data_out, self._data = _SPAWN.Pipe(duplex=False)
        self._status, status_in = _SPAWN.Pipe(duplex=False)
        self._process = _SPAWN.Process(
            target=run_sender, args=(target, stream, data_out, status_in),
            name=f"sender {target.name}", daemon=True)
        self._child_ends = (data_out, status_in)
        self._feeder = threading.Thread(target=self._feed, name=f"feeder {target.name}",
                                        daemon=True)
        self.fed = 0
        self.first_fed_at: float | None = None

    def start(self) -> SenderSession:
        """Spawn the process and start feeding it."""
        self._process.start()
        # Only the child may hold its ends, or its death would not break the pipe.
        for end in self._child_ends:
            end.close()
        self._feeder.start()
        return self

    @property
    def alive(self) -> bool:
        """True while the sender process runs."""
        return self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        """The process's exit code (negative: killed by that signal)."""
        return self._process.exitcode

    def reports(self, timeout: float) -> list[tuple[Any, ...]]:
        """Status tuples the sender sent, waiting up to `timeout` for the first."""
        found: list[tuple[Any, ...]] = []
        with contextlib.suppress(EOFError, OSError):
            while self._status.poll(timeout if not found else 0):
                found.append(self._status.recv())
        return found

    def kill(self) -> None:
        """Kill the process at once and release the pipes."""
        self._stopping.set()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)
        self._feeder.join(5)
        self._data.close()
        self._status.close()

    def _feed(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get(timeout=0.2)
            if item is None:
                continue
            message = item if isinstance(item, bytes) else pack(item)
            try:
                self._data.send_bytes(message)
            except (OSError, ValueError):  # the sender died or was killed
                return
            if message == CLOSE:
                return
            self.fed += 1
            if self.first_fed_at is None:
                self.first_fed_at = time.monotonic()
