"""The parent's handle on one sender process: spawn it, feed it, read its reports, kill it."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

from core.outputs import OutputTarget
from render.encoder import StreamInfo
from render.outputs.packets import PacketQueue, close_message, pipe_message
from render.outputs.sender import run_sender

# A sender wakes at most this often (a close is sent at once). Each wake-up costs a sender
# about 0.2 ms of CPU however little it then muxes (a Python process whose caches the encoder
# has meanwhile evicted), against about 0.08 ms a frame for the muxing itself: woken once a
# frame, each extra output cost 7% of one output's CPU a frame; every 0.1 s, 2.4-5.1% (median
# 2.6%, docs/testing.md; what a wake-up costs: docs/field-notes.md).
# The price is up to this much more latency on every output.
SEND_INTERVAL = 0.1

# The render process runs x264 threads: forking it could copy a held lock into the child.
_SPAWN = multiprocessing.get_context("spawn")


class SenderSession:
    """One sender process plus the thread that writes queued batches into its pipe.

    Only the feeder thread ever blocks on the pipe; killing the process breaks the pipe and
    frees it. Each message it writes carries `deadline()` as it writes it: the render lease's
    deadline, past which the sender writes nothing of it (render.outputs.packets).
    """

    def __init__(self, target: OutputTarget, stream: StreamInfo, queue: PacketQueue,
                 deadline: Callable[[], float]) -> None:
        self._queue = queue
        self._deadline = deadline
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
            taken = self._queue.take(timeout=0.2)
            if taken is None:
                continue
            if isinstance(taken, bytes):  # CLOSE
                with contextlib.suppress(OSError, ValueError):
                    self._data.send_bytes(close_message(self._deadline()))
                return
            # Each batch was packed once by the render thread for every destination; the
            # wire format is self-delimiting, so batches joined are still one message.
            try:
                self._data.send_bytes(pipe_message(self._deadline(), taken))
            except (OSError, ValueError):  # the sender died or was killed
                return
            self.fed += sum(len(batch) for batch in taken)
            if self.first_fed_at is None:
                self.first_fed_at = time.monotonic()
            # Gather the next frames before waking the sender again: see SEND_INTERVAL.
            self._queue.wait_closed(SEND_INTERVAL)
