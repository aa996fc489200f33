"""The reference scene of ../shared/bench, for every benchmark: its images and its layers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.schemas import LayerInputSchema, LayerSchema
from core.store import StateStore

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench"
SCENE = SHARED_BENCH / "reference-scene.json"


def make_media(folder: Path) -> None:
    """The scene's images, made by the shared, deterministic script."""
    subprocess.run([sys.executable, str(SHARED_BENCH / "make_assets.py"), str(folder)],
                   check=True, capture_output=True)


def scene_layers(size: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """The reference scene's layers as stored layers (validated by our own schemas).

    With `size`, the full-frame background is stretched to it (for other output sizes).
    """
    raw = json.loads(SCENE.read_text())
    loader, stored = LayerInputSchema(), LayerSchema()
    layers = []
    for number, entry in enumerate(raw["layers"]):
        layer = loader.load({key: value for key, value in entry.items()})
        if size and number == 0:
            layer["transform"] = {**layer["transform"], "width": size[0], "height": size[1]}
        layers.append(stored.load({**layer, "id": f"layer{number}", "version": 1,
                                   "createdAt": 1, "updatedAt": 1}))
    return sorted(layers, key=lambda layer: layer["zIndex"])


def create_scene(store: StateStore, size: tuple[int, int] | None = None) -> None:
    """Create the scene's layers through the store, as the worker's tasks would."""
    for number, layer in enumerate(scene_layers(size)):
        data = {key: layer[key] for key in LayerInputSchema().fields if key in layer}
        store.create_layer(f"bench-layer-{number}", data)
