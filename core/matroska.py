"""The time of the last block in a Matroska file that is still being written.

A recording in progress has no Duration element yet (the muxer writes it with the trailer),
and demuxing a whole hour of it to find its last packet reads gigabytes. Its clusters carry
absolute timestamps, though, so reading the file's tail is enough: find the last complete
cluster, add its timestamp to the relative timecode of each of its blocks.

Only the few EBML elements that hold times are read (Cluster, its Timestamp, SimpleBlock,
BlockGroup and Block); everything else is skipped by its size.
"""

from __future__ import annotations

from pathlib import Path

CLUSTER_ID = bytes.fromhex("1F43B675")
_TIMESTAMP = 0xE7
_SIMPLE_BLOCK = 0xA3
_BLOCK_GROUP = 0xA0
_BLOCK = 0xA1
# FFmpeg closes a cluster at a video keyframe or at 5 MiB; the last one may be half written,
# so the tail holds at least two whole clusters.
TAIL_BYTES = 16 << 20
# Level-1 elements (Cluster, Cues, Tags, ...) have 4-byte IDs: one ends a cluster of unknown size.
_LEVEL_1_ID_LENGTH = 4


def last_block_ticks(path: Path, tail_bytes: int = TAIL_BYTES) -> int | None:
    """The timestamp of the last whole block in the file's tail, in TimestampScale ticks
    (milliseconds unless the file says otherwise); None when no whole cluster is found."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        file.seek(max(0, size - tail_bytes))
        data = file.read()
    end = len(data)
    # Bytes inside a frame can look like a cluster ID: a candidate counts only when it parses
    # as a cluster with a timestamp and at least one whole block.
    while (start := data.rfind(CLUSTER_ID, 0, end)) >= 0:
        found = _cluster_last_block(data, start)
        if found is not None:
            return found
        end = start
    return None


def _cluster_last_block(data: bytes, start: int) -> int | None:
    """The latest block time of the cluster whose ID is at `start` (None if it is not one)."""
    size = _read_size(data, start + len(CLUSTER_ID))
    if size is None:
        return None
    length, body_start = size
    body_end = len(data) if length is None else min(len(data), body_start + length)
    cluster_time: int | None = None
    latest: int | None = None
    for element_id, id_length, payload_start, payload_end in _elements(data, body_start,
                                                                       body_end):
        if id_length == _LEVEL_1_ID_LENGTH:
            break
        if element_id == _TIMESTAMP:
            cluster_time = int.from_bytes(data[payload_start:payload_end], "big")
        elif cluster_time is None:
            # The timestamp comes before any block (a CRC-32 or Void may precede it).
            continue
        elif element_id == _SIMPLE_BLOCK:
            latest = _later(latest, _block_time(data, payload_start, cluster_time))
        elif element_id == _BLOCK_GROUP:
            for inner_id, _, inner_start, _ in _elements(data, payload_start, payload_end):
                if inner_id == _BLOCK:
                    latest = _later(latest, _block_time(data, inner_start, cluster_time))
    return latest


def _elements(data: bytes, position: int, end: int) -> list[tuple[int, int, int, int]]:
    """(id, id length, payload start, payload end) of each whole element in data[position:end];
    stops at the first one cut off or malformed."""
    found = []
    while position < end:
        element = _read_id(data, position)
        if element is None:
            break
        element_id, id_length = element
        size = _read_size(data, position + id_length)
        if size is None or size[0] is None:
            break
        length, payload_start = size[0], size[1]
        if payload_start + length > end:
            break
        found.append((element_id, id_length, payload_start, payload_start + length))
        position = payload_start + length
    return found


def _block_time(data: bytes, payload_start: int, cluster_time: int) -> int | None:
    """A block's time: its track number (a vint), then a signed 16-bit relative timecode."""
    track = _read_size(data, payload_start)
    if track is None or track[0] is None:
        return None
    offset = track[1]
    if offset + 2 > len(data):
        return None
    return cluster_time + int.from_bytes(data[offset:offset + 2], "big", signed=True)


def _read_id(data: bytes, position: int) -> tuple[int, int] | None:
    """An element ID (its marker bit kept, 1-4 bytes) and its length."""
    length = _vint_length(data, position, max_length=4)
    if length is None:
        return None
    return int.from_bytes(data[position:position + length], "big"), length


def _read_size(data: bytes, position: int) -> tuple[int | None, int] | None:
    """An element size (None when all its bits are set: unknown) and where its payload starts."""
    length = _vint_length(data, position, max_length=8)
    if length is None:
        return None
    value = int.from_bytes(data[position:position + length], "big") & ((1 << (7 * length)) - 1)
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), position + length


def _vint_length(data: bytes, position: int, max_length: int) -> int | None:
    """How many bytes the variable-size integer at `position` takes (its leading zero bits)."""
    if position >= len(data) or data[position] == 0:
        return None
    length = 9 - data[position].bit_length()
    if length > max_length or position + length > len(data):
        return None
    return length


def _later(latest: int | None, candidate: int | None) -> int | None:
    if candidate is None:
        return latest
    return candidate if latest is None else max(latest, candidate)
