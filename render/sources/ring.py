"""Shared memory between the render worker and a source process: the heartbeat and the rings.

Names: each source process gets a token; its heartbeat is `<token>_hb` and its n-th ring of
frame slots `<token>_r<n>` (a new ring whenever the frame size changes). A ring holds SLOTS
BGR pictures of one size, back to back. The child writes a slot only while it owns it;
ownership goes to the parent with each frame report and back with each "free" command (both
over pipes, see render.sources.child).

The parent unlinks every name as soon as both sides have it mapped, so nothing is left in
/dev/shm when either process dies; a mapping outlives its name, so a picture the render thread
still shows stays valid after its source process is gone. The child creates its rings; the
parent maps them read-only straight from /dev/shm (Linux), as a plain mmap that is unmapped
when the last view of it is dropped: SharedMemory.close() would raise while the render thread
still holds a view.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import time
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

SLOTS = 4
SHM_DIR = Path("/dev/shm")


def heartbeat_name(token: str) -> str:
    """The shared-memory name of a source process's heartbeat."""
    return f"{token}_hb"


def ring_name(token: str, number: int) -> str:
    """The shared-memory name of a source process's `number`-th ring."""
    return f"{token}_r{number}"


def unlink(name: str) -> None:
    """Remove a shared-memory name if it still exists (the resource tracker forgets it too)."""
    try:
        segment = shared_memory.SharedMemory(name)
    except (FileNotFoundError, ValueError):
        return
    segment.close()
    with contextlib.suppress(FileNotFoundError):
        segment.unlink()


class Heartbeat:
    """A deadline in shared memory that the source process keeps moving forward.

    Before anything that may take a while (opening a network input, a read with a timeout,
    a wait for a free slot) the child sets the deadline to now plus what that step may
    take; the parent's watchdog kills the process once the deadline has passed.
    """

    def __init__(self, segment: shared_memory.SharedMemory) -> None:
        self._segment = segment
        # One aligned 8-byte store per write, so the other process never reads half of it
        # (struct.pack_into zeroes the bytes before it writes them: a reader saw 0.0).
        self._cell = memoryview(segment.buf if segment.buf is not None else b"").cast("d")

    @classmethod
    def create(cls, token: str, deadline: float) -> Heartbeat:
        """The parent's side, with a first deadline that covers the child's start."""
        beat = cls(shared_memory.SharedMemory(heartbeat_name(token), create=True, size=8))
        beat.set(deadline)
        return beat

    @classmethod
    def attach(cls, token: str) -> Heartbeat:
        """The child's side."""
        return cls(shared_memory.SharedMemory(heartbeat_name(token)))

    def beat(self, allowance: float) -> None:
        """The next `allowance` seconds are accounted for."""
        self.set(time.monotonic() + allowance)

    def set(self, deadline: float) -> None:
        """Write the deadline (time.monotonic(), the same clock in every process)."""
        self._cell[0] = deadline

    def deadline(self) -> float:
        """When the process stops being accounted for."""
        return float(self._cell[0])

    def forget_name(self) -> None:
        """Unlink the name once the child has it mapped (the mapping stays)."""
        with contextlib.suppress(FileNotFoundError):
            self._segment.unlink()

    def close(self) -> None:
        """Unmap it."""
        self._cell.release()
        self._segment.close()


class ChildRing:
    """The child's side of a ring: SLOTS writable pictures of one size."""

    def __init__(self, token: str, number: int, width: int, height: int) -> None:
        self.number = number
        self.width = width
        self.height = height
        self._segment = shared_memory.SharedMemory(
            ring_name(token, number), create=True, size=width * height * 3 * SLOTS)
        size = width * height * 3
        self.slots = [np.ndarray((height, width, 3), np.uint8, self._segment.buf, i * size)
                      for i in range(SLOTS)]

    def close(self) -> None:
        """Unmap it (the parent keeps its own mapping)."""
        self.slots = []
        self._segment.close()


class RingView:
    """The parent's side of a ring: SLOTS read-only pictures, mapped from /dev/shm."""

    def __init__(self, token: str, number: int, width: int, height: int) -> None:
        self.number = number
        size = width * height * 3
        name = ring_name(token, number)
        descriptor = os.open(SHM_DIR / name, os.O_RDONLY)
        try:
            if os.fstat(descriptor).st_size < size * SLOTS:
                raise ValueError(f"ring {name} is smaller than {SLOTS} {width}x{height} slots")
            mapped = mmap.mmap(descriptor, size * SLOTS, prot=mmap.PROT_READ)
        finally:
            os.close(descriptor)
        unlink(name)
        self.slots = [np.frombuffer(mapped, np.uint8, size, i * size).reshape(height, width, 3)
                      for i in range(SLOTS)]
