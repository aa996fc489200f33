"""HTTP API blueprints: one module per resource; views validate, send a command, answer."""

from flask import Flask

from app import openapi
from app.api import (
    audio,
    chat,
    commands,
    cues,
    health,
    layer_types,
    layers,
    media,
    outputs,
    preview,
    recordings,
    scenes,
    show,
    stream,
)


def register_blueprints(app: Flask) -> None:
    """Mount every API blueprint, and the OpenAPI document describing them."""
    for module in (stream, layers, layer_types, show, scenes, cues, outputs, audio,
                   recordings, chat, media, health, commands, preview, openapi):
        app.register_blueprint(module.blueprint)
