"""What one preview client has yet to be sent, in bounded memory.

Four parts, taken in this order by the client's sender thread:
- messages (hello, pong, ping, layerUpdate) in order, at most MAX_MESSAGES: a client that
  falls that far behind is closed rather than buffered without end;
- the newest streamState (one slot: a newer state replaces one not yet sent);
- the newest audioLevels (one slot, the same way: they come about 10 times a second);
- the newest JPEG frame of the client's quality (one slot: a slow client skips frames).
Putting never blocks, so the threads that fan out frames and events never wait for a client.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

MAX_MESSAGES = 256


class Outbox:
    """One client's pending messages, latest state and latest frame."""

    def __init__(self, quality: str, max_messages: int = MAX_MESSAGES,
                 on_skip: Callable[[str], None] | None = None) -> None:
        self._ready = threading.Condition()
        self._messages: deque[str] = deque()
        self._max_messages = max_messages
        self._state: str | None = None
        self._levels: str | None = None
        self._frame: bytes | None = None
        self._quality = quality
        self.skipped = 0
        self._on_skip = on_skip  # told the quality of each skipped frame (metrics)
        self.overflowed = False
        self.closed = False

    @property
    def quality(self) -> str:
        """The quality whose frames this outbox accepts."""
        return self._quality

    def put_message(self, text: str) -> None:
        """Queue a message; if MAX_MESSAGES are already waiting the outbox overflows and closes."""
        with self._ready:
            if self.closed:
                return
            if len(self._messages) >= self._max_messages:
                self.overflowed = True
                self.closed = True
            else:
                self._messages.append(text)
            self._ready.notify()

    def put_state(self, text: str) -> None:
        """Offer the newest streamState; one not yet sent is replaced."""
        with self._ready:
            self._state = text
            self._ready.notify()

    def put_levels(self, text: str) -> None:
        """Offer the newest audioLevels; one not yet sent is replaced."""
        with self._ready:
            self._levels = text
            self._ready.notify()

    def put_frame(self, quality: str, jpeg: bytes) -> None:
        """Offer a frame; one of another quality (from before a switch) is ignored, and one
        not yet sent is replaced (counted in `skipped`)."""
        with self._ready:
            if quality != self._quality:
                return
            if self._frame is not None:
                self.skipped += 1
                if self._on_skip is not None:
                    self._on_skip(quality)
            self._frame = jpeg
            self._ready.notify()

    def switch(self, quality: str) -> None:
        """Accept `quality` frames from now on; a frame of the old quality is dropped."""
        with self._ready:
            self._quality = quality
            self._frame = None

    def take(self, timeout: float) -> str | bytes | None:
        """The next thing to send (a message, the state, the levels, then the frame), waiting
        up to `timeout`; None if nothing came or the outbox is closed."""
        with self._ready:
            if not self.closed and not self._pending():
                self._ready.wait(timeout)
            if self.closed:
                return None
            if self._messages:
                return self._messages.popleft()
            if self._state is not None:
                state, self._state = self._state, None
                return state
            if self._levels is not None:
                levels, self._levels = self._levels, None
                return levels
            frame, self._frame = self._frame, None
            return frame

    def close(self) -> None:
        """Wake the sender for good: `take` returns None from now on."""
        with self._ready:
            self.closed = True
            self._ready.notify_all()

    def _pending(self) -> bool:
        return (bool(self._messages) or self._state is not None or self._levels is not None
                or self._frame is not None)
