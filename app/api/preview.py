"""Preview clients (registered by the preview process) and preview tickets."""

from flask import Blueprint, Response

from app.http import no_body, resource_response
from app.services import services
from core.store.live import TICKET_TTL_SECONDS

blueprint = Blueprint("preview", __name__)
# A channel's twin holds the channel's clients only: a ticket is the deployment's.
channel_blueprint = Blueprint("preview", __name__)


@blueprint.get("/stream/preview/clients")
def list_clients() -> Response:
    """Connected preview clients with their quality and last ping."""
    return resource_response(services().store.preview_clients())


channel_blueprint.add_url_rule("/stream/preview/clients", view_func=list_clients)


@blueprint.post("/preview/ticket")
def issue_ticket() -> Response:
    """A single-use ticket for the preview handshake (`?ticket=`), since browsers cannot set
    an Authorization header on a WebSocket. Needs the API token like any other call."""
    no_body()
    ticket = services().store.issue_preview_ticket()
    response = resource_response({"ticket": ticket, "expiresIn": TICKET_TTL_SECONDS}, 201)
    response.headers["Cache-Control"] = "no-store"
    return response
