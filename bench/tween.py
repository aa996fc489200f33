"""The tween benchmark's scene and moves: a 1280-wide banner crossing the reference scene,
driven through the render worker's own tween path, and the FFmpeg peer making the same move.

The banner (`banner.png`, 1280x240 RGBA, written here: a colour gradient at alpha 220 with
opaque stripes every 64 px, so a move shows in any sampling of the frame) crosses the screen
at y = 240 and back, one crossing every CROSSING_SECONDS along a linear tween: from x = -1280
(just off the left edge) to x = 1280 (just off the right edge), then back. Every frame it
moves 21 px, so no frame can reuse the previous composite.

Each crossing is one layer change carrying {"transition": {"durationMs", "easing":
"linear"}} and an `effectiveAt` at the crossing's instant, sent ahead of it, as a cue sends
its batch: the tween then starts on that very instant (one sent without one starts on the next
frame from where the layer was on the last, so its first frame repeats the last position).

Where it sits in the stack (`PLACES`): "under" just above the background, so every layer
above it is blended again each frame; "top" above everything, so the rest stays in the
compositor's cached base. The peer inserts its overlay at the same point of
ffmpeg_peer.sh's filter graph; FFmpeg composites every layer every frame either way.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from bench.scene import SHARED_BENCH, scene_layers
from core.events import LAYER_UPDATED
from core.layers import Layer, NewLayer, dump_layer, load_new_layer
from core.store import StateStore, StoredEvent
from render.scene import Scene

BANNER = "banner.png"
BANNER_SIZE = (1280, 240)
BANNER_Y = 240
CROSSING_SECONDS = 4.0
# What the scene's layers are stacked as: "under" shares the background's zIndex (and comes
# after it, being younger), "top" goes above the chat line (zIndex 7).
PLACES = {"under": 0, "top": 8}
# How far ahead of its instant a crossing's change is sent (as the beat sends a cue's batch).
LEAD_SECONDS = 0.5

# The peer's overlay, where each place puts it in ffmpeg_peer.sh's graph (checked, so a change
# to the shared script stops the benchmark instead of measuring something else). `{o}` is the
# banner's stream label and `{x}` the expression of its x.
PEER_BACKGROUND = "[0:v]format=yuv420p,$L,drawbox="
PEER_OUTPUT = "fontcolor=yellow[out]"
PEER_INPUTS = '-i "$M/ov3.png"'
PEER_PLACES = {
    "under": (PEER_BACKGROUND,
              "[0:v]format=yuv420p,$L[bg];[bg][o5]overlay=x='{x}':y={y}:format=yuv420,drawbox="),
    "top": (PEER_OUTPUT, "fontcolor=yellow[top];[top][o5]overlay=x='{x}':y={y}:format=yuv420[out]"),
}


def write_banner(media: Path) -> None:
    """The banner image, the same on every run."""
    width, height = BANNER_SIZE
    xx = np.arange(width)
    banner = np.zeros((height, width, 4), np.uint8)
    banner[..., 0] = (xx * 255 // (width - 1)).astype(np.uint8)
    banner[..., 1] = 160
    banner[..., 2] = (255 - xx * 255 // (width - 1)).astype(np.uint8)
    banner[..., 3] = 220
    banner[:, ::64] = 255  # opaque white stripes
    cv2.imwrite(str(media / BANNER), banner)


def banner_layer(place: str) -> NewLayer:
    """The banner as a client would create it, off the left edge."""
    return load_new_layer({
        "name": "banner", "type": "image", "zIndex": PLACES[place],
        "content": {"source": BANNER}, "transform": {"x": -BANNER_SIZE[0], "y": BANNER_Y}})


def crossing_target(number: int) -> int:
    """Where crossing `number` ends: off the right edge, then back off the left, in turn."""
    return BANNER_SIZE[0] if number % 2 == 0 else -BANNER_SIZE[0]


def crossing_transition() -> dict[str, object]:
    """The transition every crossing carries (as the wire has it)."""
    return {"durationMs": round(CROSSING_SECONDS * 1000), "easing": "linear"}


def peer_script(place: str, origin_frames: int) -> str:
    """ffmpeg_peer.sh with the banner as a sixth input overlaid at `place`, its x the same
    triangle wave in time as our crossings (`origin_frames`: the frame index, in the peer's
    count, at which our first crossing starts; negative: before the first frame)."""
    script = (SHARED_BENCH / "ffmpeg_peer.sh").read_text()
    anchor, overlay = PEER_PLACES[place]
    loop = "[5:v]format=rgba,$L[o5];"
    for needed in (anchor, PEER_INPUTS, "-filter_complex \""):
        if script.count(needed) != 1:
            raise SystemExit(f"bench.tween: ffmpeg_peer.sh no longer holds {needed!r} once; "
                             "update bench/tween.py")
    # x(t) = -w + (W + w) * (1 - |1 - ((t - t0) mod 2P) / P|): -w at t0, W at t0 + P, back at
    # t0 + 2P, linear in between (quoted in the graph: its commas are not filter separators).
    period = CROSSING_SECONDS
    since = f"t+{-origin_frames / 30:.6f}"
    x = f"-w+(W+w)*(1-abs(1-mod({since},{2 * period:g})/{period:g}))"
    return (script.replace(PEER_INPUTS, f'{PEER_INPUTS} -i "$M/{BANNER}"')
            .replace("-filter_complex \"", f"-filter_complex \"{loop}")
            .replace(anchor, overlay.format(x=x, y=BANNER_Y)))


def tween_scene_layers(place: str) -> list[Layer]:
    """The reference scene with the banner at `place`, as stored layers (bottom first)."""
    layers = scene_layers()
    new = banner_layer(place)
    banner = Layer(id="banner", type=new.type, name=new.name, content=new.content,
                   visible=True, opacity=new.opacity, transform=new.transform,
                   z_index=new.z_index or 0, version=1, created_at=2, updated_at=2)
    return sorted([*layers, banner], key=lambda layer: (layer.z_index, layer.created_at))


class CrossingScene:
    """The render worker's own scene (render.scene.Scene) fed the banner's crossings as layer
    events, as its event feed would: `layers_at(index)` is what the render thread would
    composite at frame `index`, the crossings starting at frame `origin` and every
    CROSSING_SECONDS after."""

    def __init__(self, place: str, epoch: float, fps: int, origin: int) -> None:
        self.scene = Scene()
        self.scene.replace({"state": "live", "version": 1, "startTime": None},
                           tween_scene_layers(place), [])
        self._epoch, self._fps, self._origin = epoch, fps, origin
        self._sent = 0  # crossings sent so far

    def instant(self, index: int) -> float:
        """Frame `index`'s instant, epoch seconds."""
        return self._epoch + index / self._fps

    def layers_at(self, index: int) -> list[Layer]:
        """Send the crossings due within LEAD_SECONDS, then advance the scene to the frame:
        the layers on air at frame `index`."""
        now = self.instant(index)
        while self._crossing_start(self._sent) <= now + LEAD_SECONDS:
            self._send(self._sent)
            self._sent += 1
        self.scene.advance(now)
        return self.scene.on_air(now)

    def _crossing_start(self, number: int) -> float:
        return self.instant(self._origin) + number * CROSSING_SECONDS

    def _send(self, number: int) -> None:
        banner = next(layer for layer in self.scene.layers() if layer.id == "banner")
        moved = replace(banner, version=banner.version + 1, transform=replace(
            banner.transform, x=crossing_target(number)))
        # effectiveAt is whole ms: rounded down, so the frame at the instant is past it.
        due = math.floor(self._crossing_start(number) * 1000)
        self.scene.apply(StoredEvent(f"{number}-0", LAYER_UPDATED, {
            **dump_layer(moved), "transition": crossing_transition(), "effectiveAt": due}))


def band_repeats(lumas: Iterable[np.ndarray]) -> tuple[int, int]:
    """(frames, frames whose banner band, rows BANNER_Y to its bottom, is the one before's
    within coding noise: no luma value moved by more than 12). A moving banner's stripes
    change the band by over 100 every frame."""
    frames = repeated = 0
    before: np.ndarray | None = None
    for luma in lumas:
        band = luma[BANNER_Y:BANNER_Y + BANNER_SIZE[1]].astype(np.int16)
        frames += 1
        repeated += before is not None and int(np.abs(band - before).max()) <= 12
        before = band
    return frames, repeated


class Crossings:
    """The banner's crossings sent to a real store from `first_at` (epoch seconds) until
    closed: each a batch of one update carrying the crossing's transition and its instant as
    effective_at, LEAD_SECONDS ahead of it (as the beat sends a cue's batch)."""

    def __init__(self, store: StateStore, banner_id: str, first_at: float) -> None:
        self._store, self._banner_id, self._first_at = store, banner_id, first_at
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crossings", daemon=True)

    def __enter__(self) -> Crossings:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            due = self._first_at + self.sent * CROSSING_SECONDS
            if self._stop.wait(max(0.0, due - LEAD_SECONDS - time.time())):
                return
            outcome = self._store.batch(
                f"bench-crossing-{self.sent}",
                [{"op": "update", "id": self._banner_id,
                  "changes": {"transform": {"x": crossing_target(self.sent)}}}],
                crossing_transition(), effective_at=math.floor(due * 1000))
            if outcome.status != 200:
                self.failures.append(f"crossing {self.sent}: {outcome.status} {outcome.body}")
            self.sent += 1
