"""Network peers that misbehave, for the fault tests of live inputs."""

from __future__ import annotations

import random
import socket
import threading
import time


class Peer:
    """A TCP port that accepts and then never answers, or answers with random bytes."""

    def __init__(self, garbage: bool) -> None:
        self._garbage = garbage
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            held, self._held = self._held, []
        self._server.close()
        for each in held:
            each.close()

    def _serve(self) -> None:
        rng = random.Random(7)
        while True:
            try:
                peer, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                # A connection accepted while closing would otherwise never be closed.
                if self._closed.is_set():
                    peer.close()
                    return
                self._held.append(peer)
            if self._garbage:
                threading.Thread(target=self._spew, args=(peer, rng.randbytes(1 << 16)),
                                 daemon=True).start()

    def _spew(self, peer: socket.socket, noise: bytes) -> None:
        while not self._closed.is_set():
            try:
                peer.sendall(noise)
            except OSError:
                return
            time.sleep(0.01)
