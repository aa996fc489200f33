"""Bodies of the show control endpoints (batches, scenes, history, undo and redo) and the
`transition` a layer change may carry, for the OpenAPI document only: the views load bodies
through core.show and answer plain dicts, which the schemathesis test holds to these."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from core.layers.schemas import (
    ID_LENGTH,
    LayerInputSchema,
    LayerPatchSchema,
    LayerSchema,
    VisibilitySchema,
)
from core.schemas.fields import Boolean, Integer, Text, epoch_ms
from core.show import SceneCutSchema, TweenSchema
from core.show.actor import ROLES, SOURCES
from core.show.batch import MAX_OPERATIONS, OPS
from core.store.scenes import NAME_LENGTH

_TRANSITION = {"description": "a tween: the change's numbers move there on air over durationMs"}


class LayerWithTransitionSchema(LayerInputSchema):
    """A new layer; with a `transition` it fades in."""

    transition = fields.Nested(TweenSchema, metadata=_TRANSITION)


class PatchWithTransitionSchema(LayerPatchSchema):
    """A change; with a `transition` transform, opacity, colour and volume move on air."""

    transition = fields.Nested(TweenSchema, metadata=_TRANSITION)


class VisibilityWithTransitionSchema(VisibilitySchema):
    """Show or hide; with a `transition` the layer fades."""

    transition = fields.Nested(TweenSchema, metadata=_TRANSITION)


class DeleteBodySchema(Schema):
    """An optional body of DELETE: with a `transition` the layer fades out first."""

    transition = fields.Nested(TweenSchema, metadata=_TRANSITION)


class SceneLayerInputSchema(LayerInputSchema):
    """A layer body, which may carry the id it is to have."""

    id = Text(validate=validate.Regexp(rf"^[A-Za-z0-9_-]{{1,{ID_LENGTH}}}$"))


class BatchOperationSchema(Schema):
    """One operation: create {layer}, update {id, changes, ifMatch?}, delete {id, ifMatch?}
    or reorder {ids}."""

    op = Text(required=True, validate=validate.OneOf(OPS))
    id = Text(validate=validate.Regexp(rf"^[A-Za-z0-9_-]{{1,{ID_LENGTH}}}$"))
    layer = fields.Nested(LayerInputSchema, metadata={
        "description": "a layer body as POST /stream/layers takes it; it may also carry the "
                       "`id` it is to have"})
    changes = fields.Nested(LayerPatchSchema(partial=True))
    if_match = Integer(data_key="ifMatch", validate=validate.Range(1, 2**53))
    ids = fields.List(Text())


class BatchInputSchema(Schema):
    """Operations applied all at once, and the tween every changed layer makes."""

    operations = fields.List(fields.Nested(BatchOperationSchema), required=True,
                             validate=validate.Length(1, MAX_OPERATIONS))
    transition = fields.Nested(TweenSchema, metadata=_TRANSITION)


class BatchResultSchema(Schema):
    """The change's history number, every layer after it, one result per operation (the
    layer; {id, deleted: true}; or the order for a reorder)."""

    seq = Integer(required=True)
    layers = fields.List(fields.Nested(LayerSchema), required=True)
    results = fields.List(fields.Raw(), required=True)


class SceneSchema(Schema):
    """A scene: its layers bottom to top, secrets masked."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    layers = fields.List(fields.Nested(LayerSchema), required=True)
    version = Integer(required=True)
    created_at = epoch_ms(data_key="createdAt", required=True)
    updated_at = epoch_ms(data_key="updatedAt", required=True)


class SceneInputSchema(Schema):
    """{"name"} saves the layers on air; with "layers" it defines the scene without going
    live."""

    name = Text(required=True, validate=validate.Length(1, NAME_LENGTH))
    layers = fields.List(fields.Nested(SceneLayerInputSchema))


class ScenePatchSchema(Schema):
    """A new name and/or new layers."""

    name = Text(validate=validate.Length(1, NAME_LENGTH))
    layers = fields.List(fields.Nested(SceneLayerInputSchema))


class TakeInputSchema(Schema):
    """How the scene replaces the program (a cut when left out)."""

    transition = fields.Nested(SceneCutSchema)


class SceneRefSchema(Schema):
    """The scene taken."""

    id = fields.String(required=True)
    name = fields.String(required=True)


class TakeResultSchema(Schema):
    """The take's history number, the scene and the program's layers after it."""

    seq = Integer(required=True)
    scene = fields.Nested(SceneRefSchema, required=True)
    layers = fields.List(fields.Nested(LayerSchema), required=True)


class HistoryEntrySchema(Schema):
    """One change: who (role) and from where (source), when, what, before and after."""

    seq = Integer(required=True)
    event_id = fields.String(data_key="eventId", required=True)
    at = epoch_ms(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    op = fields.String(required=True)
    ids = fields.List(fields.String(), required=True)
    before = fields.List(fields.Raw(allow_none=True), required=True, metadata={
        "description": "each layer (or the stream's state) before; null: it did not exist"})
    after = fields.List(fields.Raw(allow_none=True), required=True)
    undoable = Boolean(required=True)
    undone = Boolean(required=True)
    undid = Integer(metadata={"description": "the seq this undo reverted"})
    redid = Integer(metadata={"description": "the seq this redo replayed"})
    effective_at = epoch_ms(data_key="effectiveAt", metadata={
        "description": "when it landed on air (a cue's time)"})


class HistorySchema(Schema):
    """History entries, newest first, and the seq to ask `before` for the next page."""

    entries = fields.List(fields.Nested(HistoryEntrySchema), required=True)
    next = Integer(required=True, allow_none=True)


class ReplaySchema(Schema):
    """An undo or redo: its own history number, the one it reverted or replayed, and the
    layers it changed as they are now (a deleted one is absent)."""

    seq = Integer(required=True)
    undid = Integer()
    redid = Integer()
    layers = fields.List(fields.Nested(LayerSchema), required=True)
