"""The render thread's side of a source's sound: the chunks it reported, read a slot at a time.

Chunks (render.sources.spec.AudioChunk) come from the supervisor thread through a bounded
deque; the render thread moves them in here, where only it looks. They are kept in timeline
order: a chunk that starts before the end of the ones before it (a looping file's next lap
starting where the pictures' lap ends, a live input's timestamps going back) replaces what it
overlaps, and one that starts within JOIN samples of the previous one's end continues it.

A read is `count` samples from a timeline position, zeros where no sound arrived (a stall is
silence, never a wait). When the position is within `snap` samples of where the previous read
ended, the read continues exactly from there, so rounding and a live clock's jitter neither
repeat nor skip a sample; otherwise it jumps. Chunks of an earlier epoch (a seek, an earlier
connection) or process are dropped; what lies KEEP behind the read is dropped too, and no
more than MAX_CHUNKS are held.
"""

from __future__ import annotations

import collections
from dataclasses import replace

import numpy as np

from render.sources.spec import AUDIO_CHANNELS, AUDIO_RATE, AudioChunk

# Chunks whose joint is this many samples off (a rounded timestamp) are joined.
JOIN = 2
# Samples kept behind the last read (a position that steps back a little finds them).
KEEP = AUDIO_RATE // 10
# About 11 s of 1024-sample chunks (AAC): what a source nobody reads may leave behind.
MAX_CHUNKS = 512


class AudioBuffer:
    """One source's sound on the render thread."""

    def __init__(self) -> None:
        self._chunks: collections.deque[AudioChunk] = collections.deque()
        self._process = 0
        self._epoch: int | None = None  # the epoch last read
        self._next: int | None = None  # the sample after the last read
        self.heard = False  # a chunk has arrived

    def add(self, chunk: AudioChunk) -> None:
        """Keep `chunk` (one of an earlier process or epoch is dropped)."""
        if chunk.process < self._process:
            return
        if chunk.process > self._process:  # a new process: nothing of the old one goes on
            self._process = chunk.process
            self._chunks.clear()
            self._epoch = self._next = None
        if self._epoch is not None and chunk.epoch < self._epoch:
            return
        self.heard = True
        chunks = self._chunks
        while chunks and chunks[-1].epoch == chunk.epoch and chunks[-1].index >= chunk.index:
            chunks.pop()  # covered by the new one's start: replaced
        if chunks and chunks[-1].epoch == chunk.epoch:
            last = chunks[-1]
            if abs(chunk.index - last.end) <= JOIN:
                chunk = replace(chunk, index=last.end)
            elif chunk.index < last.end:
                chunks[-1] = replace(last, samples=last.samples[:chunk.index - last.index])
        chunks.append(chunk)
        while len(chunks) > MAX_CHUNKS:
            chunks.popleft()

    def span(self, epoch: int) -> tuple[float, float] | None:
        """The timeline seconds from the first held sample of `epoch` to after its last."""
        chunks = self._chunks
        first = next((chunk for chunk in chunks if chunk.epoch == epoch), None)
        if first is None:
            return None
        last = next(chunk for chunk in reversed(chunks) if chunk.epoch == epoch)
        return first.index / AUDIO_RATE, last.end / AUDIO_RATE

    def read(self, epoch: int, position: float, count: int, snap: int) -> np.ndarray:
        """`count` samples of `epoch` from timeline time `position` (or from where the last
        read ended, when within `snap` samples of it): (count, 2) float32, zeros where none
        arrived."""
        chunks = self._chunks
        if epoch != self._epoch:
            self._epoch, self._next = epoch, None
        while chunks and chunks[0].epoch < epoch:
            chunks.popleft()
        start = round(position * AUDIO_RATE)
        if self._next is not None and abs(start - self._next) <= snap:
            start = self._next
        end = start + count
        self._next = end
        while chunks and chunks[0].epoch == epoch and chunks[0].end <= start - KEEP:
            chunks.popleft()
        samples = np.zeros((count, AUDIO_CHANNELS), np.float32)
        for chunk in chunks:
            if chunk.epoch != epoch or chunk.index >= end:
                break
            if chunk.end > start:
                low, high = max(start, chunk.index), min(end, chunk.end)
                samples[low - start:high - start] = chunk.samples[low - chunk.index:
                                                                  high - chunk.index]
        return samples
