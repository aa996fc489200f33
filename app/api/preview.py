"""Preview clients (registered by the preview process)."""

from flask import Blueprint, Response

from app.http import resource_response
from app.services import services

blueprint = Blueprint("preview", __name__, url_prefix="/stream/preview")


@blueprint.get("/clients")
def list_clients() -> Response:
    """Connected preview clients with their quality and last ping."""
    return resource_response(services().store.live.preview_clients())
