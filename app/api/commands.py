"""Following a command that answered 202 (its worker had not finished in time)."""

from flask import Blueprint, Response, jsonify

from app.http import resource_id
from app.services import services
from core.commit import Pending
from core.errors import NotFound

blueprint = Blueprint("commands", __name__, url_prefix="/stream/commands")


@blueprint.get("/<command_id>")
def command_status(command_id: str) -> Response:
    """202 while pending; 200 with the outcome's HTTP status and body once done."""
    found = services().store.command(resource_id(command_id, "command"))
    if found is None:
        raise NotFound("no such command (unknown or expired)", {"id": "unknown command"})
    if isinstance(found, Pending):
        response = jsonify({"taskId": command_id, "status": "pending"})
        response.status_code = 202
        return response
    return jsonify({"taskId": command_id, "status": "done",
                    "httpStatus": found.status, "result": found.body})
