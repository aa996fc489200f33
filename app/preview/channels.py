"""The preview of each channel inside one preview process.

A client picks its channel with `?channel=` (`default` when left out). Each channel being
watched has what a preview process had for its one program before channels: a frame hub (a
subscription per quality with clients), a roster (its clients, registered in the channel's
scope, so that channel's render knows who watches which quality), a state feed (its layer
events and stream status) and an audio levels relay. The `default` channel's run for the life
of the process, as before; any other's start with its first client and stop with its last, so
an idle process holds no thread nor subscription for channels nobody watches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from app.preview.feed import StateFeed
from app.preview.hub import FrameHub
from app.preview.levels import LevelsRelay
from app.preview.roster import Roster
from core.keys import DEFAULT_CHANNEL


@dataclass
class ChannelPreview:
    """One channel's frame hub, roster, state feed and levels relay."""

    channel: str
    hub: FrameHub
    roster: Roster
    feed: StateFeed
    levels: LevelsRelay
    watchers: int = 0

    def start(self, prime: bool = True) -> None:
        """Start following the channel and serving its clients. With `prime`, where its
        events are now is read before this returns (a client told hello next misses no later
        change); without, the feed's thread reads it (no Redis needed to start)."""
        if prime:
            self.feed.prime()
        self.roster.start()
        self.feed.start()
        self.levels.start()

    def stop(self) -> None:
        """Stop every thread and subscription of the channel."""
        self.levels.stop()
        self.feed.stop()
        self.roster.stop()
        self.hub.stop()


class ChannelPreviews:
    """The channels this process previews: `default` always, others while watched."""

    def __init__(self, build: Callable[[str], ChannelPreview]) -> None:
        self._build = build
        self._lock = threading.Lock()
        default = build(DEFAULT_CHANNEL)
        self._previews: dict[str, ChannelPreview] = {DEFAULT_CHANNEL: default}
        default.start(prime=False)

    @property
    def default(self) -> ChannelPreview:
        """The default channel's preview."""
        return self._previews[DEFAULT_CHANNEL]

    @contextmanager
    def watching(self, channel: str) -> Iterator[ChannelPreview]:
        """The preview of `channel` (started if nobody watched it) for one client's session;
        the last client of a channel other than `default` to leave stops it."""
        with self._lock:
            found = self._previews.get(channel)
            if found is None:
                found = self._build(channel)
                found.start()
                self._previews[channel] = found
            found.watchers += 1
        try:
            yield found
        finally:
            idle = None
            with self._lock:
                found.watchers -= 1
                if found.watchers == 0 and channel != DEFAULT_CHANNEL:
                    idle = self._previews.pop(channel, None)
            if idle is not None:
                idle.stop()

    def counts(self) -> dict[str, int]:
        """How many clients watch each quality, over every channel."""
        with self._lock:
            previews = list(self._previews.values())
        counts: dict[str, int] = {}
        for preview in previews:
            for quality, count in preview.roster.counts().items():
                counts[quality] = counts.get(quality, 0) + count
        return counts

    def channels(self) -> list[str]:
        """The channels previewed now."""
        with self._lock:
            return sorted(self._previews)

    def stop(self) -> None:
        """Stop every channel's preview."""
        with self._lock:
            previews = list(self._previews.values())
            self._previews.clear()
        for preview in previews:
            preview.stop()
