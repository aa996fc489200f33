"""Layer types: what each type's content holds, generated from the registry, so clients (the
admin page among them) build their forms from it instead of a hand-kept list."""

from flask import Blueprint, Response

from app.http import resource_response
from core.layers.describe import describe_layer_types

blueprint = Blueprint("layer_types", __name__, url_prefix="/stream/layer-types")


@blueprint.get("")
def list_layer_types() -> Response:
    """Every layer type with its content fields: name (as sent in `content`), kind (text,
    integer, number, boolean, color, media), required, nullable, default, description, and
    min/max, minLength/maxLength or choices where the field has them."""
    return resource_response(describe_layer_types())
