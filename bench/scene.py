"""The reference scene of ../shared/bench, for every benchmark: its images and its layers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from core.layers import Layer, NewLayer, load_new_layer
from core.store import StateStore

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench"
SCENE = SHARED_BENCH / "reference-scene.json"


def make_media(folder: Path) -> None:
    """The scene's images, made by the shared, deterministic script."""
    subprocess.run([sys.executable, str(SHARED_BENCH / "make_assets.py"), str(folder)],
                   check=True, capture_output=True)


def scene_layers(size: tuple[int, int] | None = None) -> list[Layer]:
    """The reference scene's layers as stored layers (validated by our own schemas).

    With `size`, the full-frame background is stretched to it (for other output sizes).
    """
    return [
        Layer(id=f"layer{number}", type=new.type, name=new.name, content=new.content,
              visible=new.visible, opacity=new.opacity, transform=new.transform,
              z_index=new.z_index or 0, version=1, created_at=1, updated_at=1)
        for number, new in enumerate(_scene(size))
    ]


def create_scene(store: StateStore, size: tuple[int, int] | None = None,
                 background: NewLayer | None = None) -> None:
    """Create the scene's layers through the store, as the worker's tasks would; `background`
    replaces the scene's background image."""
    for number, new in enumerate(_scene(size)):
        store.create_layer(f"bench-layer-{number}", background if background and not number
                           else new)


def _scene(size: tuple[int, int] | None) -> list[NewLayer]:
    raw = json.loads(SCENE.read_text())
    layers = [load_new_layer(entry) for entry in raw["layers"]]
    if size:
        background = layers[0]
        layers[0] = replace(background, transform=replace(
            background.transform, width=size[0], height=size[1]))
    return sorted(layers, key=lambda layer: layer.z_index or 0)
