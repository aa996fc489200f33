"""Layer schemas: per-type content rules, strict types, and patch merging."""

import json
from pathlib import Path

import pytest
from marshmallow import ValidationError

from core.schemas import LayerInputSchema, LayerSchema, apply_layer_patch

SCENE = Path(__file__).resolve().parents[3] / "shared" / "bench" / "reference-scene.json"


def stored(**overrides) -> dict:
    layer = LayerInputSchema().load({"type": "text", "content": {"text": "hello"}})
    return {**layer, "zIndex": 0, "id": "abc", "version": 1, "createdAt": 1, "updatedAt": 1,
            **overrides}


def test_the_reference_scene_loads_through_the_layer_schema() -> None:
    scene = json.loads(SCENE.read_text())
    layers = [LayerInputSchema().load(layer) for layer in scene["layers"]]
    tilted = next(layer for layer in layers if layer["name"] == "tilted")
    assert tilted["transform"]["scale"] == 1.2 and tilted["transform"]["rotation"] == 15.0
    clock = next(layer for layer in layers if layer["type"] == "clock")
    assert clock["content"] == {"format": "LIVE %H:%M:%S", "fontSize": 48, "color": "#ffffff"}


def test_each_type_has_its_own_content_defaults() -> None:
    def content(kind: str, given: dict) -> dict:
        return LayerInputSchema().load({"type": kind, "content": given})["content"]

    assert content("chat", {}) == {"maxMessages": 5, "fontSize": 24, "color": "#ffffff"}
    assert content("clock", {}) == {"format": "%H:%M:%S", "fontSize": 48, "color": "#ffffff"}
    assert content("color", {"color": "#AABBCCDD"}) == {"color": "#aabbccdd"}
    assert content("image", {"source": "logos/brand.png"}) == {"source": "logos/brand.png"}
    with pytest.raises(ValidationError):
        content("text", {})
    with pytest.raises(ValidationError):
        content("image", {"source": "logo.png", "text": "x"})


def test_patch_merges_transform_and_content_key_by_key() -> None:
    merged = apply_layer_patch(stored(), {"transform": {"x": 5}, "content": {"fontSize": 60}})
    assert merged["transform"]["x"] == 5 and merged["transform"]["scale"] == 1.0
    assert merged["content"] == {"text": "hello", "fontSize": 60, "color": "#ffffff"}


def test_patch_cannot_change_the_type_or_break_the_content() -> None:
    with pytest.raises(ValidationError) as raised:
        apply_layer_patch(stored(), {"type": "color"})
    assert "type" in raised.value.messages
    with pytest.raises(ValidationError) as raised:
        apply_layer_patch(stored(), {"content": {"text": ""}})
    assert "content" in raised.value.messages


def test_stored_layers_need_the_server_fields() -> None:
    layer = stored()
    assert LayerSchema().load(layer) == layer
    for missing in ("id", "version", "createdAt", "zIndex"):
        with pytest.raises(ValidationError):
            LayerSchema().load({k: v for k, v in layer.items() if k != missing})
