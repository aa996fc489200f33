"""Layer schemas: per-type content rules, strict types, and patch merging, checked on the wire
form (camelCase JSON) the model loads from and dumps to."""

import json
from pathlib import Path

import pytest
from marshmallow import ValidationError

from core.layers import apply_patch, dump_layer, dump_new_layer, load_layer, load_new_layer

SCENE = Path(__file__).resolve().parents[3] / "shared" / "bench" / "reference-scene.json"


def new(wire: dict) -> dict:
    """A client's layer as loaded and dumped again (defaults filled)."""
    return dump_new_layer(load_new_layer(wire))


def stored(**overrides) -> dict:
    layer = new({"type": "text", "content": {"text": "hello"}})
    return {**layer, "zIndex": 0, "id": "abc", "version": 1, "createdAt": 1, "updatedAt": 1,
            **overrides}


def test_the_reference_scene_loads_through_the_layer_schema() -> None:
    scene = json.loads(SCENE.read_text())
    layers = [new(layer) for layer in scene["layers"]]
    tilted = next(layer for layer in layers if layer["name"] == "tilted")
    assert tilted["transform"]["scale"] == 1.2 and tilted["transform"]["rotation"] == 15.0
    clock = next(layer for layer in layers if layer["type"] == "clock")
    assert clock["content"] == {"format": "LIVE %H:%M:%S", "fontSize": 48, "color": "#ffffff"}


def test_each_type_has_its_own_content_defaults() -> None:
    def content(kind: str, given: dict) -> dict:
        return new({"type": kind, "content": given})["content"]

    assert content("chat", {}) == {"maxMessages": 5, "fontSize": 24, "color": "#ffffff"}
    assert content("clock", {}) == {"format": "%H:%M:%S", "fontSize": 48, "color": "#ffffff"}
    assert content("color", {"color": "#AABBCCDD"}) == {"color": "#aabbccdd"}
    assert content("image", {"source": "logos/brand.png"}) == {"source": "logos/brand.png"}
    with pytest.raises(ValidationError):
        content("text", {})
    with pytest.raises(ValidationError):
        content("image", {"source": "logo.png", "text": "x"})


def test_patch_merges_transform_and_content_key_by_key() -> None:
    merged = dump_layer(apply_patch(load_layer(stored()),
                                    {"transform": {"x": 5}, "content": {"fontSize": 60}}))
    assert merged["transform"]["x"] == 5 and merged["transform"]["scale"] == 1.0
    assert merged["content"] == {"text": "hello", "fontSize": 60, "color": "#ffffff"}


def test_patch_cannot_change_the_type_or_break_the_content() -> None:
    with pytest.raises(ValidationError) as raised:
        apply_patch(load_layer(stored()), {"type": "color"})
    assert "type" in raised.value.messages
    with pytest.raises(ValidationError) as raised:
        apply_patch(load_layer(stored()), {"content": {"text": ""}})
    assert "content" in raised.value.messages


def test_stored_layers_need_the_server_fields() -> None:
    layer = stored()
    assert dump_layer(load_layer(layer)) == layer
    for missing in ("id", "version", "createdAt", "zIndex"):
        with pytest.raises(ValidationError):
            load_layer({k: v for k, v in layer.items() if k != missing})


def test_content_may_be_left_out_when_every_field_has_a_default() -> None:
    assert new({"type": "clock"})["content"] == {
        "format": "%H:%M:%S", "fontSize": 48, "color": "#ffffff"}
    assert new({"type": "chat"})["content"] == {
        "maxMessages": 5, "fontSize": 24, "color": "#ffffff"}
    with pytest.raises(ValidationError) as raised:
        new({"type": "text"})
    assert raised.value.messages == {"content": {"_schema": ["Missing data for required field."],
                                                 "text": ["Missing data for required field."]}}


def test_the_model_is_typed_and_camel_case_stays_on_the_wire() -> None:
    layer = load_layer(stored(zIndex=3))
    assert layer.z_index == 3 and layer.created_at == 1
    assert layer.transform.scale == 1.0 and layer.content.font_size == 32
    assert "zIndex" in dump_layer(layer) and "z_index" not in dump_layer(layer)
