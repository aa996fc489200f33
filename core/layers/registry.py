"""The layer types: one registry entry per type ties its content class, its content schema
(which holds the fields' rules and defaults) and its description together.

Each module in `core.layers.types` registers one type when it is imported; the render worker
keeps the matching rasteriser under the same name (render.layers). Adding a type is one file
here and one there: the API, the OpenAPI document and the admin page's form read this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import Schema, post_load

from core.layers.model import LayerContent


class ContentSchema(Schema):
    """Base of every content schema: its fields (camelCase `data_key`s, rules, defaults) load
    into `content_class`."""

    content_class: ClassVar[type[LayerContent]]

    @post_load
    def _make_content(self, data: dict[str, Any], **kwargs: Any) -> LayerContent:
        return self.content_class(**data)


@dataclass(frozen=True)
class LayerType:
    """One kind of layer: `schema` loads its `content` from the wire into its content class,
    filling the defaults its fields declare. A field whose metadata says `secret` is shown
    masked (core.urls.mask_url)."""

    name: str
    schema: ContentSchema
    description: str
    # A layer of this type plays a file: it carries a playback anchor (core.layers.playback).
    playable: bool = False

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """The content's fields (wire names) holding secrets: masked in every read and event."""
        return tuple(field.data_key or name for name, field in self.schema.fields.items()
                     if field.metadata.get("secret"))

    @property
    def content(self) -> type[LayerContent]:
        """The content class of this type."""
        return self.schema.content_class


_TYPES: dict[str, LayerType] = {}
_BY_CONTENT: dict[type[LayerContent], LayerType] = {}
_discovered = False
_discovering = threading.RLock()


def register_layer_type(layer_type: LayerType) -> LayerType:
    """Add a layer type (a type module calls this at import; tests may add their own)."""
    _TYPES[layer_type.name] = layer_type
    _BY_CONTENT[layer_type.content] = layer_type
    return layer_type


def unregister_layer_type(name: str) -> None:
    """Remove a type again (for tests that registered a throwaway type)."""
    removed = _TYPES.pop(name, None)
    if removed is not None:
        _BY_CONTENT.pop(removed.content, None)


def layer_types() -> dict[str, LayerType]:
    """Every registered type by name, in alphabetical order."""
    _discover()
    return dict(sorted(_TYPES.items()))


def find_layer_type(name: str) -> LayerType | None:
    """The type called `name`, or None."""
    _discover()
    return _TYPES.get(name)


def type_of_content(content: LayerContent) -> LayerType:
    """The type whose content class `content` is."""
    _discover()
    return _BY_CONTENT[type(content)]


def _discover() -> None:
    """Import every module of core.layers.types once, so each registers its type.

    Threads of one process (the API's gthread workers) may ask at once: the others wait until
    every type is registered. Flagged done before the imports, a second thread found only the
    types imported so far, and a read of a stored layer of another type quarantined it."""
    global _discovered
    if _discovered:
        return
    with _discovering:
        if _discovered:
            return
        from core.layers import types

        for module in sorted(pkgutil.iter_modules(types.__path__),
                             key=lambda found: found.name):
            importlib.import_module(f"{types.__name__}.{module.name}")
        _discovered = True
