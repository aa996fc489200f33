"""The system as `make run` starts it, streaming the reference scene to a local nginx-rtmp:
for the benchmarks that watch it from outside (bench/soak.py, bench/startup.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.scene import create_scene, make_media
from core.config import load_settings
from core.redis_client import connect
from core.store import StateStore
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.stack import Stack


@contextmanager
def reference_system(name: str) -> Iterator[Stack]:
    """`make run` on free ports in a temporary folder, with the reference scene's media and
    layers and a local nginx-rtmp as its RTMP_URL (stream key `name`); stopped at the end."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as temp:
        work = Path(temp)
        (work / "data" / "media").mkdir(parents=True)
        make_media(work / "data" / "media")
        nginx = NginxRtmp(work / "nginx").start()
        stack = Stack(work / "data", env={"RTMP_URL": nginx.url(name)})
        try:
            print("starting the system (make run) ...", flush=True)
            stack.start()
            settings = load_settings({**stack.env})
            create_scene(StateStore.from_settings(settings, connect(settings)))
            yield stack
        finally:
            stack.stop()
            nginx.stop()
