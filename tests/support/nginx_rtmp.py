"""A real nginx-rtmp ingest on a free port, one process, so tests can kill, freeze and thaw it.

Usage::

    server = NginxRtmp(tmp_path).start()
    url = server.url("secretkey")   # rtmp://127.0.0.1:PORT/live/secretkey
    server.freeze(); server.thaw()   # SIGSTOP / SIGCONT
    server.kill(); server.start()    # crash, then come back on the same port
    server.stop()
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from tests.support.processes import Process, free_port, wait_until

MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

_CONFIG = """\
load_module {module};
daemon off;
# One process, so kill/SIGSTOP/SIGCONT reach the one that holds the connections.
master_process off;
user root;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        # A dead publisher's slot is kept until this expires; a reconnecting one needs it.
        drop_idle_publisher 5s;
        application live {{
            live on;
            record off;
            # A viewer's stream starts at a video keyframe (nginx-rtmp waits for one), and its
            # sound with it, not before: a player finds both streams in a short probe. (A
            # stream without video would send its viewers nothing.)
            wait_video on;
{notify}        }}
    }}
}}
"""


class NginxRtmp:
    """Debian nginx with libnginx-mod-rtmp, its config, pid and logs in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None,
                 notify_url: str | None = None) -> None:
        """`notify_url`: nginx-rtmp POSTs each publish's start (call=publish) and end
        (call=publish_done) there, and refuses a publish unless it answers 2xx."""
        self.workdir = workdir
        self.port = port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "nginx.conf"
        notify = (f"            on_publish {notify_url};\n"
                  f"            on_publish_done {notify_url};\n") if notify_url else ""
        self.config.write_text(_CONFIG.format(module=MODULE, workdir=self.workdir,
                                              port=self.port, notify=notify))
        self._process: Process | None = None

    def url(self, key: str) -> str:
        """The publish/play URL of stream `key` in application `live`."""
        return f"rtmp://127.0.0.1:{self.port}/live/{key}"

    @property
    def running(self) -> bool:
        """True while the nginx process has not exited."""
        return self._process is not None and self._process.running

    def start(self, timeout: float = 10.0) -> NginxRtmp:
        """Start nginx and wait until its port accepts connections."""
        args = ["nginx", "-c", str(self.config), "-p", str(self.workdir)]
        self._process = Process(args, self.workdir / "nginx.out").start()
        try:
            wait_until(self._answers, timeout, f"nginx-rtmp on port {self.port}")
        except TimeoutError:
            raise TimeoutError(f"nginx did not start:\n{self.log()}") from None
        return self

    def stop(self) -> None:
        """Stop nginx (thawing it first, as a stopped process ignores SIGTERM until then)."""
        if self._process:
            self.thaw()
            self._process.stop(timeout=5, signum=signal.SIGTERM)

    def kill(self) -> None:
        """kill -9, as a crash; the port is free again at once."""
        if self._process:
            self._process.stop(signum=signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections but nothing is read or answered."""
        if self._process:
            self._process.send(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after `freeze`."""
        if self._process:
            self._process.send(signal.SIGCONT)

    def log(self, lines: int = 40) -> str:
        """The end of nginx's error log and output, for failure messages."""
        texts = []
        for path in (self.workdir / "error.log", self.workdir / "nginx.out"):
            if path.exists():
                texts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
