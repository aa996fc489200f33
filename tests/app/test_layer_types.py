"""Layer types come from one registry: a type registered here, with no other file touched,
is listed by `GET /stream/layer-types`, validated at the edge, stored and drawn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from marshmallow import validate

from core.layers import (
    ContentSchema,
    LayerContent,
    LayerType,
    load_new_layer,
    register_layer_type,
    unregister_layer_type,
)
from core.schemas.fields import Color, Integer
from core.store import StateStore
from render.compositor import Compositor
from render.layers.base import RASTERISERS, Box, FrameInput, LayerRenderer, rasteriser, solid


@dataclass(frozen=True, kw_only=True)
class StripesContent(LayerContent):
    """`bars` vertical bars of `color`, with gaps between them as wide as a bar."""

    bars: int
    color: str


class StripesContentSchema(ContentSchema):
    """The throwaway type's content."""

    content_class = StripesContent

    bars = Integer(validate=validate.Range(1, 8), load_default=2)
    color = Color(load_default="#00ff00")


class StripesLayer(LayerRenderer[StripesContent]):
    """Draws the bars across the box."""

    def rasterise(self, content: StripesContent, frame: FrameInput, box: Box) -> np.ndarray:
        width, height = box.width or 80, box.height or 20
        tile = np.zeros((height, width, 4), np.uint8)
        bar = width // (2 * content.bars)
        for number in range(content.bars):
            tile[:, 2 * number * bar:(2 * number + 1) * bar] = solid(bar, height, content.color)
        return tile


@pytest.fixture
def stripes() -> Iterator[None]:
    """The `stripes` type registered in core and render, for one test only."""
    register_layer_type(LayerType("stripes", StripesContentSchema(), "Vertical bars"))
    rasteriser("stripes")(StripesLayer)
    yield
    unregister_layer_type("stripes")
    RASTERISERS.pop("stripes", None)


def test_the_built_in_types_are_described_from_their_schemas(client: FlaskClient) -> None:
    listed = client.get("/stream/layer-types").get_json()
    assert [entry["type"] for entry in listed] == [
        "chat", "clock", "color", "image", "input", "text", "video"]
    text = next(entry for entry in listed if entry["type"] == "text")
    assert [field["name"] for field in text["fields"]] == ["text", "fontSize", "color"]
    font_size = text["fields"][1]
    assert font_size["kind"] == "integer" and font_size["default"] == 32
    assert (font_size["min"], font_size["max"]) == (4, 512)
    image = next(entry for entry in listed if entry["type"] == "image")
    assert image["fields"][0]["kind"] == "media" and image["fields"][0]["required"] is True


def test_content_may_be_left_out_when_every_field_has_a_default(client: FlaskClient) -> None:
    for kind in ("clock", "chat"):
        response = client.post("/stream/layers", json={"type": kind})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["content"]["fontSize"] in (48, 24)
    response = client.post("/stream/layers", json={"type": "text"})
    assert response.status_code == 400
    assert "content.text" in response.get_json()["fields"]


def test_a_type_registered_in_one_place_is_listed_validated_stored_and_drawn(
    stripes: None, client: FlaskClient, store: StateStore, tmp_path: Path,
) -> None:
    listed = {entry["type"]: entry for entry in client.get("/stream/layer-types").get_json()}
    bars = listed["stripes"]["fields"][0]
    assert (bars["name"], bars["kind"], bars["default"], bars["min"], bars["max"]) == (
        "bars", "integer", 2, 1, 8)

    response = client.post("/stream/layers", json={"type": "stripes", "content": {"bars": 9}})
    assert response.status_code == 400
    assert "content.bars" in response.get_json()["fields"]

    # The worker process was started without this type, so the store (what its task runs)
    # creates the layer here, in the process that knows it.
    created = store.create_layer("stripes-1", load_new_layer({
        "type": "stripes", "content": {"bars": 2, "color": "#0000ff"},
        "transform": {"x": 0, "y": 0, "width": 40, "height": 10}}))
    assert created.status == 201 and created.body["content"] == {"bars": 2, "color": "#0000ff"}
    frame = Compositor(64, 16, tmp_path).compose(store.layers(), [], 0.0)
    assert frame[5, 5].tolist() == [255, 0, 0]  # the first bar, blue in BGR
    assert frame[5, 15].tolist() == [0, 0, 0]  # the gap
    assert frame[5, 25].tolist() == [255, 0, 0]  # the second bar
