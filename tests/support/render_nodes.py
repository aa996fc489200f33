"""Real render nodes (`python -m render`) for tests: each a process group of its own (the node
and its channel processes), found in Redis by its pid."""

from __future__ import annotations

import json
import signal
from typing import Any

import redis

from core.keys import Keys
from tests.support.processes import Process, wait_until
from tests.support.render_worker import RenderWorkers


class RenderNodes(RenderWorkers):
    """Starts render nodes on the test Redis; stops them all (cleanly) at the end."""

    def __init__(self, base_env: dict[str, str], workdir: Any, client: redis.Redis) -> None:
        super().__init__(base_env, workdir)
        self.client = client
        self.keys = Keys(base_env["REDIS_PREFIX"])

    def start_node(self, **overrides: str) -> Process:
        """One more node; returns once its record is in Redis."""
        process = self.start(**overrides)
        wait_until(lambda: self.record(process), 15, "the node's record")
        return process

    def record(self, process: Process) -> dict[str, Any] | None:
        """The node record `process` writes (None until it wrote one)."""
        for raw in self.client.hvals(self.keys.nodes):
            found = json.loads(raw)
            if found["pid"] == self.pid(process):
                return found
        return None

    def node_id(self, process: Process) -> str:
        """The id of the node `process` runs."""
        found = self.record(process)
        assert found is not None, "the node wrote no record"
        return str(found["id"])

    def child_pid(self, process: Process, channel: str) -> int:
        """The pid of the node's process of `channel`, once it runs one."""
        def found() -> int | None:
            record = self.record(process)
            child = (record or {}).get("children", {}).get(channel)
            return child["pid"] if child else None

        return int(wait_until(found, 15, f"a process of channel {channel}"))

    def freeze(self, process: Process) -> None:
        """SIGSTOP to the node's whole process group: the node, its channel processes and
        their senders stop where they are."""
        process.send(signal.SIGSTOP)

    def thaw(self, process: Process) -> None:
        """SIGCONT after `freeze`."""
        process.send(signal.SIGCONT)
