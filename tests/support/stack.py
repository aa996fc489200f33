"""The whole system started exactly as `make run` starts it (deploy/run.sh + supervisord),
on free ports with its own data folder, for system tests and benchmarks."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import requests

from tests.support.processes import Process, free_port, free_port_pair, wait_until

ROOT = Path(__file__).resolve().parents[2]
# What the admin page tests run with: status read twice a second, a small preview, and the
# periodic health checks every second, so that /health reads ok (and `start` returns) about 4 s
# sooner than after the default 5 s interval's first checks.
QUICK = {"POLL_INTERVAL": "500", "PREVIEW_FPS": "10", "HEALTH_CHECK_INTERVAL": "1"}


class Stack:
    """`make run` in a child process; `stop()` is Ctrl-C."""

    def __init__(self, data_dir: Path, redis_port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.redis_port = redis_port or free_port()
        self.supervisor_port = free_port()
        self.flower_auth = ("ops", "stack-flower-password")
        self.env = {
            # HOST as make run defaults it (127.0.0.1), unless the test sets one.
            **{name: value for name, value in os.environ.items() if name != "HOST"},
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "WS_PORT": str(free_port()),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "SUPERVISOR_HTTP_PORT": str(self.supervisor_port),
            "METRICS_PORT": str(free_port()),
            "RENDER_METRICS_PORT": str(free_port_pair()),
            "FLOWER_PORT": str(free_port()),
            "FLOWER_BASIC_AUTH": ":".join(self.flower_auth),
            **(env or {}),
        }
        self._process: Process | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    def metrics_urls(self) -> dict[str, str]:
        """Every Prometheus endpoint of the system, by process."""
        render = int(self.env["RENDER_METRICS_PORT"])
        return {
            "api": f"http://127.0.0.1:{self.env['METRICS_PORT']}/metrics",
            "render_0": f"http://127.0.0.1:{render}/metrics",
            "render_1": f"http://127.0.0.1:{render + 1}/metrics",
            "preview": f"http://127.0.0.1:{self.env['WS_PORT']}/metrics",
            "flower": f"{self.flower_url}/metrics",
        }

    @property
    def flower_url(self) -> str:
        """Base URL of Flower."""
        return f"http://127.0.0.1:{self.env['FLOWER_PORT']}"

    @property
    def preview_url(self) -> str:
        """ws:// URL of the preview at medium quality."""
        return f"ws://127.0.0.1:{self.env['WS_PORT']}/preview?quality=medium"

    def start(self, timeout: float = 60) -> Stack:
        """Run `make run` and wait until /health says a worker consumes the queue."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = Process(["make", "--no-print-directory", "run"],
                                self.data_dir / "make-run.log", env=self.env, cwd=ROOT).start()
        try:
            wait_until(self._healthy, timeout, "the system started by make run")
        except TimeoutError:
            raise TimeoutError(f"make run did not come up:\n{self._process.tail()}") from None
        return self

    def _healthy(self) -> bool:
        if self._process is None or not self._process.running:
            raise RuntimeError("make run exited")
        response = requests.get(f"{self.url}/health", timeout=2)
        return response.status_code == 200 and response.json()["status"] == "ok"

    def supervisorctl(self, *args: str) -> str:
        """Run supervisorctl against this stack's supervisord."""
        import subprocess

        result = subprocess.run(
            [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(ROOT / "supervisord.conf"), *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        )
        return result.stdout

    def stop(self) -> None:
        """Ctrl-C: supervisord stops every program, Redis last."""
        if self._process is not None:
            self._process.stop(timeout=30, signum=signal.SIGINT)
            self._process = None

    def stop_in_background(self) -> None:
        """`stop()` in a thread, for a stack nothing uses any more: its programs take seconds
        to stop, while the next tests start. The interpreter waits for the thread at exit."""
        threading.Thread(target=self.stop, name="stack stop").start()
