"""Show control: atomic batches of layer changes, the change history, undo and redo."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from app.api.layers import check_media
from app.auth import request_actor
from app.http import command_response, json_input, no_body, query_int, resource_response
from app.services import services
from core import tasks
from core.show.batch import dump_operation, load_batch, masked_operation
from core.show.transition import dump_tween

blueprint = Blueprint("show", __name__, url_prefix="/stream")

HISTORY_PAGE_MAX = 200


@blueprint.post("/batch")
def apply_batch() -> Response:
    """Create, update, delete and reorder layers all at once or not at all: {"operations":
    [...], "transition"?}. 200 with the layers after it and one result per operation; 400,
    404, 409 or 412 naming `operations.<i>.<field>`, and nothing changed."""
    batch = json_input(load_batch)
    operations = [dump_operation(op) for op in batch.operations]
    check_operations_media(operations, "operations")
    command_id, outcome = services().bus.run(
        tasks.APPLY_BATCH, operations=operations,
        transition=dump_tween(batch.tween) if batch.tween else None,
        actor=request_actor().to_wire(), shown={"operations": [
            masked_operation(wire) for wire in operations]})
    return command_response(command_id, outcome)


@blueprint.get("/history")
def history() -> Response:
    """Every change, newest first: {"entries": [...], "next": seq or null};
    ?limit=1-200 (50) and ?before=<seq> page back."""
    limit = query_int("limit", 50, 1, HISTORY_PAGE_MAX)
    before = query_int("before", 0, 1, 2**53) if "before" in request.args else None
    return resource_response(services().store.history(limit, before))


@blueprint.post("/undo")
def undo() -> Response:
    """Revert the newest change still undoable, as a new change (409 when there is none)."""
    return _replay(tasks.UNDO)


@blueprint.post("/redo")
def redo() -> Response:
    """Replay the newest change undone, as a new change (409 when there is none)."""
    return _replay(tasks.REDO)


def check_operations_media(operations: list[dict[str, Any]], prefix: str) -> None:
    """Every media file a batch's operations (loaded, in wire form) name must exist in
    MEDIA_ROOT; errors name `<prefix>.<i>.layer.content.<field>` or `...changes.content...`
    (an update's type is its layer's on air; one that is not on air fails when applied)."""
    on_air: dict[str, str] | None = None
    for index, wire in enumerate(operations):
        at = f"{prefix}.{index}."
        if wire["op"] == "create":
            check_media(wire["layer"]["type"], wire["layer"]["content"], f"{at}layer.")
        elif wire["op"] == "update" and "content" in wire["changes"]:
            if on_air is None:
                on_air = {layer.id: layer.type for layer in services().store.layers()}
            if wire["id"] in on_air:
                check_media(on_air[wire["id"]], wire["changes"]["content"], f"{at}changes.")


def _replay(task: str) -> Response:
    no_body()
    command_id, outcome = services().bus.run(task, actor=request_actor().to_wire())
    return command_response(command_id, outcome)


