"""Chat messages, shown by chat layers."""

from flask import Blueprint, Response

from app.http import command_response, json_body, query_int, resource_response
from app.services import services
from core.schemas import ChatInputSchema
from core.tasks import POST_CHAT

blueprint = Blueprint("chat", __name__, url_prefix="/stream/chat")
_chat_input = ChatInputSchema()


@blueprint.get("")
def list_chat() -> Response:
    """The latest messages, oldest first (?limit=N, default 50)."""
    history = services().settings.chat_history
    limit = query_int("limit", min(50, history), 1, history)
    return resource_response(services().store.chat(limit))


@blueprint.post("")
def post_chat() -> Response:
    """Post a message: {"author", "message"}; 201 with the stored message."""
    body = json_body(_chat_input)
    command_id, outcome = services().bus.run(
        POST_CHAT, author=body["author"], message=body["message"])
    return command_response(command_id, outcome)
