"""Shared memory between the render worker and a source process: the control cells and rings.

Names: each source process gets a token; its control cells are `<token>_hb` and its n-th ring
of frame slots `<token>_r<n>` (a new ring whenever the frame size changes).

A ring is a page of release counters followed by SLOTS pictures of one size (BGR, or I420 when
the spec asks yuv420p: render.sources.spec.picture_shape). Slot i
belongs to the child while `returned[i]` (written only by the parent) equals the times the
child handed it over (counted only by the child). The child hands a slot over with a frame
report on its pipe; the parent hands it back by counting it returned and posting the
process's semaphore, which wakes a child waiting for a slot. Neither step lets go of the
render thread's GIL (a pipe write would: the supervisor thread then ran inside the render
thread's call, measured at 0.25 ms median and 4 ms p99 with a busy render thread).

The parent unlinks every name as soon as both sides have it mapped, so nothing is left in
/dev/shm when either process dies; a mapping outlives its name, so a picture the render thread
still shows stays valid after its source process is gone. The child creates its rings; the
parent maps them straight from /dev/shm (Linux), as a plain mmap that is unmapped when the
last view of it is dropped: SharedMemory.close() would raise while the render thread still
holds a view. The parent's views of the pictures are read-only.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import time
from multiprocessing import shared_memory
from pathlib import Path
from typing import Protocol

import numpy as np

SLOTS = 4
SHM_DIR = Path("/dev/shm")
# The release counters take the first page, so every picture starts on a page boundary.
HEADER_BYTES = mmap.PAGESIZE
DEADLINE, DECODED, PLAYED = 0, 1, 2  # the control cells
CELLS = 3


class Poster(Protocol):
    """What wakes a child waiting for a slot (a multiprocessing semaphore)."""

    def release(self) -> None: ...


def heartbeat_name(token: str) -> str:
    """The shared-memory name of a source process's control cells."""
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
    """Three cells: two the source process writes, a deadline it keeps moving forward and
    when it last decoded a frame (whether or not the render thread took it); one the render
    thread writes, how far on the source's timeline it has read the sound (`played`).

    Before anything that may take a while (opening a network input, a read with a timeout,
    a wait for a free slot) the child sets the deadline to now plus what that step may
    take; the parent's watchdog kills the process once the deadline has passed. An
    audio-only file decodes only so far beyond `played` (render.sources.audio_files): its
    pacing, as the ring's slots are a video file's, without a pipe or a system call on the
    render thread. The parent maps the cells like a ring (never closed: any thread may still
    read or write them, also after the process is gone).
    """

    def __init__(self, token: str, cells: memoryview[float], keep: object = None) -> None:
        self._name = heartbeat_name(token)
        # One aligned 8-byte store per write, so the other process never reads half of one
        # (struct.pack_into zeroes the bytes before it writes them: a watchdog read 0.0).
        self._cells = cells
        self._keep = keep  # the child's SharedMemory, alive as long as the cells

    @classmethod
    def create(cls, token: str, deadline: float) -> Heartbeat:
        """The parent's side, with a first deadline that covers the child's start."""
        size = 8 * CELLS
        shared_memory.SharedMemory(heartbeat_name(token), create=True, size=size).close()
        beat = cls(token, memoryview(_map(heartbeat_name(token), size)).cast("d"))
        beat._cells[DEADLINE] = deadline
        beat._cells[DECODED] = 0.0
        beat._cells[PLAYED] = 0.0
        return beat

    @classmethod
    def attach(cls, token: str) -> Heartbeat:
        """The child's side."""
        segment = shared_memory.SharedMemory(heartbeat_name(token))
        assert segment.buf is not None
        return cls(token, segment.buf.cast("d"), segment)

    def beat(self, allowance: float) -> None:
        """The next `allowance` seconds are accounted for."""
        self._cells[DEADLINE] = time.monotonic() + allowance

    def decoded(self) -> None:
        """A frame was decoded just now."""
        self._cells[DECODED] = time.monotonic()

    def play(self, seconds: float) -> None:
        """The render thread has read the sound up to timeline time `seconds` (one store: no
        system call)."""
        self._cells[PLAYED] = seconds

    def played(self) -> float:
        """How far the render thread has read the sound (timeline seconds; 0 at first)."""
        return float(self._cells[PLAYED])

    def deadline(self) -> float:
        """When the process stops being accounted for (time.monotonic(), the same clock in
        every process)."""
        return float(self._cells[DEADLINE])

    def last_decoded(self) -> float | None:
        """When the process last decoded a frame (None: not yet)."""
        return float(self._cells[DECODED]) or None

    def forget_name(self) -> None:
        """Unlink the name once the child has it mapped (the mappings stay)."""
        unlink(self._name)


class ChildRing:
    """The child's side of a ring: SLOTS writable pictures of one array shape (BGR or I420,
    see render.sources.spec.picture_shape)."""

    def __init__(self, token: str, number: int, shape: tuple[int, ...]) -> None:
        self.number = number
        self.shape = shape
        size = math.prod(shape)
        name = ring_name(token, number)
        self._segment = shared_memory.SharedMemory(name, create=True,
                                                   size=HEADER_BYTES + size * SLOTS)
        try:
            _reserve(name, HEADER_BYTES + size * SLOTS)
        except OSError:
            self._segment.close()
            self._segment.unlink()
            raise
        buf = self._segment.buf
        assert buf is not None
        self._returned = buf[:8 * SLOTS].cast("q")
        self._handed = [0] * SLOTS
        self.slots = [np.ndarray(shape, np.uint8, buf, HEADER_BYTES + i * size)
                      for i in range(SLOTS)]

    def free_slot(self) -> int | None:
        """A slot the parent has handed back (or never had), if any."""
        for slot in range(SLOTS):
            if self._returned[slot] == self._handed[slot]:
                return slot
        return None

    def hand_over(self, slot: int) -> None:
        """The slot is the parent's until it counts it returned."""
        self._handed[slot] += 1

    def close(self) -> None:
        """Unmap it (the parent keeps its own mapping)."""
        self.slots = []
        self._returned.release()
        self._segment.close()


class RingView:
    """The parent's side of a ring: SLOTS read-only pictures, mapped from /dev/shm, and the
    release counters."""

    def __init__(self, token: str, number: int, shape: tuple[int, ...],
                 poster: Poster) -> None:
        self.number = number
        self._poster = poster
        size = math.prod(shape)
        name = ring_name(token, number)
        mapped = _map(name, HEADER_BYTES + size * SLOTS)
        unlink(name)
        self._returned = memoryview(mapped)[:8 * SLOTS].cast("q")
        self.slots = []
        for slot in range(SLOTS):
            picture = np.frombuffer(mapped, np.uint8, size, HEADER_BYTES + slot * size)
            picture = picture.reshape(shape)
            picture.flags.writeable = False
            self.slots.append(picture)

    def release(self, slot: int) -> None:
        """Hand `slot` back to the child (never waits, never lets go of the GIL)."""
        self._returned[slot] += 1
        self._poster.release()


def _map(name: str, size: int) -> mmap.mmap:
    """`size` bytes of shared memory `name`, mapped read-write from /dev/shm."""
    descriptor = os.open(SHM_DIR / name, os.O_RDWR)
    try:
        if os.fstat(descriptor).st_size < size:
            raise ValueError(f"shared memory {name} is smaller than {size} bytes")
        return mmap.mmap(descriptor, size)
    finally:
        os.close(descriptor)


def _reserve(name: str, size: int) -> None:
    """Allocate the pages of shared memory `name` now: a full /dev/shm (a container's is 64 MB
    unless told otherwise) then fails here, not as a SIGBUS at the first write."""
    descriptor = os.open(SHM_DIR / name, os.O_RDWR)
    try:
        os.posix_fallocate(descriptor, 0, size)
    finally:
        os.close(descriptor)
