"""A real redis-server on a free port with AOF on, so tests can stop, kill and restart it."""

from __future__ import annotations

import signal
from pathlib import Path

import redis

from tests.support.processes import Process, free_port, wait_until


class RedisServer:
    """One redis-server whose data (AOF) survives its restarts."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process: Process | None = None

    @property
    def url(self) -> str:
        """redis:// URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it answers PING."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--daemonize", "no", "--protected-mode", "no"]
        self._process = Process(args, self.workdir / "redis.log").start()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        wait_until(client.ping, 10, f"redis-server on port {self.port}")
        client.close()
        return self

    def stop(self) -> None:
        """Stop it gracefully (it has written every change to the AOF)."""
        if self._process:
            self._process.stop()

    def kill(self) -> None:
        """kill -9, as a crash."""
        if self._process:
            self._process.stop(signum=signal.SIGKILL)
