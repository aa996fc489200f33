"""What the video benchmarks share: the video reference scene, a Sources that notes what the
render thread picked, and the source processes found and measured through /proc.

The video reference scene is the reference scene of ../shared/bench with its background
replaced by a video layer the size of the program: `bg.mp4` of make_assets.py at 1280x720 (a
picture that scrolls every frame, 10 s, looped), a 1920x1080 clip made like it at 1920x1080
(bench.sources.write_full_hd), and bg.mp4 scaled to the box at any other size.

A source process is a descendant of the render process that maps shared memory (its ring);
nothing else the render worker starts does.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.outputs import descendants
from bench.scene import scene_layers
from bench.sources import write_full_hd
from core.layers import Layer, NewLayer, load_new_layer
from core.layers.playback import Playback
from render.sources import SourceFrame, Sources

FULL_HD = (1920, 1080)
# The clip shown at each program size; any other size scales bg.mp4 to the program.
CLIPS = {(1280, 720): "bg.mp4", FULL_HD: "bg1080.mp4"}


def clip_for(media: Path, size: tuple[int, int]) -> str:
    """The name of the video for a program of `size` in `media` (the 1080p one is written on
    first use, about 10 s)."""
    name = CLIPS.get(size, "bg.mp4")
    if not (media / name).exists():
        write_full_hd(media / name)
    return name


def video_background(source: str, size: tuple[int, int]) -> NewLayer:
    """The video layer that replaces the reference scene's background: the whole program."""
    return load_new_layer({
        "name": "background video", "type": "video", "zIndex": 0, "content": {"source": source},
        "transform": {"x": 0, "y": 0, "width": size[0], "height": size[1]}})


def video_scene_layers(source: str, size: tuple[int, int], started_ms: int) -> list[Layer]:
    """The video reference scene as stored layers, its video playing from epoch ms
    `started_ms` (as the store sets it when the layer is made)."""
    layers = scene_layers(size)
    video = video_background(source, size)
    layers[0] = replace(layers[0], type=video.type, name=video.name, content=video.content,
                        transform=video.transform, playback=Playback.started(started_ms))
    return layers


class ObservedSources(Sources):
    """Sources that keep the frame each source last handed the render thread, so a benchmark
    can tell a new picture from a repeated one and see when it was decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.picked: dict[str, SourceFrame | None] = {}

    def frame(self, key: str, position: float | None) -> SourceFrame | None:
        """As Sources.frame, noting what it returned."""
        found = super().frame(key, position)
        self.picked[key] = found
        return found


def source_processes(pid: int) -> list[int]:
    """The live source processes below `pid`: the descendants that map shared memory."""
    found = []
    for member in descendants(pid):
        try:
            maps = Path(f"/proc/{member}/maps").read_text()
        except OSError:
            continue  # exited while we looked
        if "/dev/shm/" in maps:
            found.append(member)
    return found


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def describe_ms(values: list[float]) -> str:
    """p50 / p95 / max of seconds, in ms."""
    return (f"p50 {statistics.median(values) * 1000:.1f} ms, "
            f"p95 {percentile(values, 0.95) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms")


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A coarse copy of a frame, to tell frames apart without keeping them."""
    return image[::24, ::24].astype(np.int16)


def repeats(thumbnails: list[np.ndarray]) -> int:
    """How many frames look like the one before (no pixel of the thumbnail moved by more than
    12: bg.mp4 scrolls 8 pixels a frame, so every new picture moves the grid lines)."""
    return sum(int(np.abs(a - b).max() <= 12)
               for a, b in zip(thumbnails, thumbnails[1:], strict=False))
