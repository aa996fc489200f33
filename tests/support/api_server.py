"""The real API process: `[program:api]` of supervisord.conf (gunicorn) on a free port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from tests.support.processes import Process, free_port, wait_until
from tests.support.supervisord import supervisord_argv, supervisord_programs

ROOT = Path(__file__).resolve().parents[2]


class ApiServer:
    """The API as supervisord runs it (its command read from supervisord.conf when started,
    so a change there is what the tests run), on free ports for HTTP and metrics."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        # HOST as `make run` defaults it, unless the test says otherwise.
        self.env = {**os.environ, "HOST": "127.0.0.1", **env, "PORT": str(self.port),
                    "METRICS_PORT": str(free_port())}
        self.log = workdir / f"api-{self.port}.log"
        self._process: Process | None = None

    def start(self) -> ApiServer:
        """Start it and wait until its /health answers."""
        argv = supervisord_argv("api", supervisord_programs()["api"], self.env)
        assert argv[0] == "gunicorn", argv
        argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
        self._process = Process(argv, self.log, env=self.env, cwd=ROOT).start()
        try:
            wait_until(lambda: requests.get(f"{self.url}/health", timeout=1).status_code
                       in (200, 503), 30, "the API process")
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"the API did not start:\n{self.tail()}") from None
        return self

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The gunicorn master's pid, which is also its process group (the workers are in it)."""
        return self._process.popen.pid if self._process and self._process.popen else None

    def tail(self) -> str:
        """The end of its log."""
        return self._process.tail() if self._process else ""

    def stop(self) -> None:
        """SIGTERM, as supervisord stops it."""
        if self._process is not None:
            self._process.stop(timeout=15)
