"""Real `python -m render` processes for tests, each with its own log and environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import redis

from core.keys import Keys
from tests.support.processes import Process, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


class RenderWorkers:
    """Starts render instances on the test Redis; stops them all (cleanly) at the end."""

    def __init__(self, base_env: dict[str, str], workdir: Path) -> None:
        self.base_env = base_env
        self.workdir = workdir
        self.started: list[Process] = []
        self._metrics_ports: list[int] = []

    def start(self, **overrides: str) -> Process:
        """One more instance, with metrics on a free port; `overrides` are environment
        variables (e.g. RTMP_URL)."""
        env = {**os.environ, **self.base_env, "STATE_UPDATE_DEBOUNCE": "0.5",
               "RENDER_METRICS_PORT": str(free_port()), **overrides}
        log = self.workdir / f"render-{len(self.started)}.log"
        process = Process([sys.executable, "-m", "render"], log, env=env, cwd=ROOT).start()
        self.started.append(process)
        self._metrics_ports.append(int(env["RENDER_METRICS_PORT"]))
        return process

    def metrics_url(self, process: Process) -> str:
        """Where `process` serves its Prometheus metrics."""
        return f"http://127.0.0.1:{self._metrics_ports[self.started.index(process)]}/metrics"

    def holder(self, client: redis.Redis, prefix: str) -> str | None:
        """The instance id holding the render lease (host-pid-random)."""
        holder = client.get(Keys(prefix).render_lease)
        return holder if isinstance(holder, str) else None

    def wait_for_holder(self, client: redis.Redis, prefix: str, timeout: float = 15) -> str:
        """Wait until some instance holds the lease; its id."""
        return wait_until(lambda: self.holder(client, prefix), timeout, "a render lease holder")

    @staticmethod
    def pid(process: Process) -> int:
        """The render worker's own pid (its sender processes have others)."""
        assert process.popen is not None
        return process.popen.pid

    def kill(self, process: Process) -> None:
        """kill -9 of the render worker alone, as a crash (its senders are orphaned)."""
        os.kill(self.pid(process), signal.SIGKILL)
        wait_until(lambda: not process.running, 5, "the killed render worker to exit")

    def stop_all(self) -> None:
        """SIGTERM to each render worker alone, as supervisord sends it: it closes its senders
        with a trailer. Whatever is left of the group is killed after that."""
        for process in self.started:
            if process.running:
                os.kill(self.pid(process), signal.SIGTERM)
        for process in self.started:
            if process.popen is not None:
                try:
                    process.popen.wait(25)
                except subprocess.TimeoutExpired:
                    pass
            process.stop(signum=signal.SIGKILL)
