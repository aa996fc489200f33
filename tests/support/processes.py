"""Start real processes on free ports and wait for them by polling, never by sleeping blind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_pair() -> int:
    """A port that is free, and the next one too (for two numbered instances)."""
    while True:
        port = free_port()
        if port < 65535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port


def wait_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll `check` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - polling tolerates failures until the deadline
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last_error!r})")


def holds_for(check: Callable[[], object], seconds: float, what: str,
              interval: float = 0.05) -> None:
    """Poll `check` through a window of `seconds` (the window is what is watched: something
    must NOT happen, or must stay so); raise AssertionError naming `what` the first time it
    fails, with the moment in the window."""
    began = time.monotonic()
    while True:
        if not check():
            raise AssertionError(f"{what}: failed {time.monotonic() - began:.2f}s into the "
                                 f"{seconds}s window")
        if time.monotonic() - began >= seconds:
            return
        time.sleep(interval)


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Process:
        """Launch it (appending to its log)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.args, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
            cwd=self.cwd, start_new_session=True,
        )
        return self

    @property
    def running(self) -> bool:
        """True while the process has not exited."""
        return self.popen is not None and self.popen.poll() is None

    def send(self, signum: int) -> None:
        """Send a signal to the whole process group."""
        if self.running and self.popen is not None:
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = 15.0, signum: int = signal.SIGTERM) -> None:
        """Ask it to stop, then kill it if it has not within `timeout`."""
        if self.popen is None:
            return
        if self.running:
            self.send(signum)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.send(signal.SIGKILL)
                self.popen.wait(5)
        if self._log:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 40) -> str:
        """The end of its log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
