"""The render thread's side of a source's sound: the chunks it reported, read a slot at a time.

Chunks (render.sources.spec.AudioChunk) come from the supervisor thread through a bounded
deque; the render thread moves them in here, where only it looks. They are kept in timeline
order: a chunk that starts before the end of the ones before it (a looping file's next lap
starting where the pictures' lap ends, a live input's timestamps going back) replaces what it
overlaps, and one that starts within JOIN samples of the previous one's end continues it.

A read is `count` samples from a timeline position, zeros where no sound arrived (a stall is
silence, never a wait). When the position is within `snap` samples of where the previous read
ended, the read continues exactly from there, so rounding and a live clock's jitter neither
repeat nor skip a sample; otherwise it jumps. A live read whose end has not arrived yet
(`late=True`) ends where the sound does: the next one continues from there, so a chunk that
comes late is heard late (after the silence it caused) rather than not at all, until the
reads fall `snap` behind and jump. Chunks of an earlier epoch (a seek, an earlier
connection) or process are dropped; what lies KEEP behind the read is dropped too, and no
more than MAX_CHUNKS are held.
"""

from __future__ import annotations

import collections

import numpy as np

from render.sources.spec import AUDIO_CHANNELS, AUDIO_RATE, AudioChunk

# Chunks whose joint is this many samples off (a rounded timestamp) are joined.
JOIN = 2
# Samples kept behind the last read (a position that steps back a little finds them).
KEEP = AUDIO_RATE // 10
# About 11 s of 1024-sample chunks (AAC): what a source nobody reads may leave behind.
MAX_CHUNKS = 512
# Samples copied in one NumPy assignment: NumPy lets go of the GIL copying 8192 floats or
# more (measured: a 4096-sample copy then waited 5 ms for a busy thread to give it back).
COPY_SAMPLES = 2048


class AudioBuffer:
    """One source's sound on the render thread."""

    def __init__(self) -> None:
        # (epoch, index, end, samples) of each chunk: plain tuples, as a read runs through a
        # few of them a slot.
        self._chunks: collections.deque[tuple[int, int, int, np.ndarray]] = (
            collections.deque())
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
        epoch, index, samples = chunk.epoch, chunk.index, chunk.samples
        if self._epoch is not None and epoch < self._epoch:
            return
        self.heard = True
        chunks = self._chunks
        while chunks and chunks[-1][0] == epoch and chunks[-1][1] >= index:
            chunks.pop()  # covered by the new one's start: replaced
        if chunks and chunks[-1][0] == epoch:
            _, last_index, last_end, last_samples = chunks[-1]
            if abs(index - last_end) <= JOIN:
                index = last_end
            elif index < last_end:
                chunks[-1] = (epoch, last_index, index, last_samples[:index - last_index])
        chunks.append((epoch, index, index + len(samples), samples))
        while len(chunks) > MAX_CHUNKS:
            chunks.popleft()

    def span(self, epoch: int) -> tuple[float, float] | None:
        """The timeline seconds from the first held sample of `epoch` to after its last."""
        chunks = self._chunks
        first = next((chunk for chunk in chunks if chunk[0] == epoch), None)
        if first is None:
            return None
        last = next(chunk for chunk in reversed(chunks) if chunk[0] == epoch)
        return first[1] / AUDIO_RATE, last[2] / AUDIO_RATE

    def read(self, epoch: int, position: float, count: int, snap: int,
             late: bool = False) -> np.ndarray:
        """`count` samples of `epoch` from timeline time `position` (or from where the last
        read ended, when within `snap` samples of it): (count, 2) float32, zeros where none
        arrived. With `late`, a read whose end has not arrived ends where the sound does."""
        chunks = self._chunks
        if epoch != self._epoch:
            self._epoch, self._next = epoch, None
        while chunks and chunks[0][0] < epoch:
            chunks.popleft()
        start = round(position * AUDIO_RATE)
        if self._next is not None and abs(start - self._next) <= snap:
            start = self._next
        end = start + count
        self._next = end
        while chunks and chunks[0][0] == epoch and chunks[0][2] <= start - KEEP:
            chunks.popleft()
        samples = np.zeros((count, AUDIO_CHANNELS), np.float32)
        if late:
            newest = chunks[-1][2] if chunks and chunks[-1][0] == epoch else start
            self._next = min(end, max(start, newest))
        for chunk_epoch, index, chunk_end, chunk in chunks:
            if chunk_epoch != epoch or index >= end:
                break
            low, high = max(start, index), min(end, chunk_end)
            while low < high:
                step = min(high, low + COPY_SAMPLES)
                samples[low - start:step - start] = chunk[low - index:step - index]
                low = step
        return samples
